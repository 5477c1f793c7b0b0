"""CSV import of customer lists and meter curves: bad rows reported by line, good rows kept, one transaction.

Every test runs on SQLite and on PostgreSQL (see tests/city_stores.py).
"""

from datetime import date

import numpy as np
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from sim_grid.db import decode_curve
from sim_grid.importer import ImportFormatError, import_csv
from sim_grid.models import Customer, LoadCurve, Station
from tests.city_stores import city_store  # noqa: F401  (fixture)

HEADER = "user_id,name,phone,district,station,sector,contracted,declared_kw"
CURVE_HEADER = "user_id,date," + ",".join(f"p{i}" for i in range(1, 97))
STAR_USER_ID = "603954"  # a demo customer


@pytest.fixture(scope="module")
def demo(city_store) -> str:
    return city_store.create("import")


@pytest.fixture
def engine(city_store, demo):
    engine = city_store.copy(demo, "city")
    yield engine
    engine.dispose()


def _station_of(engine, district_id: int = 1) -> str:
    with Session(engine) as session:
        return session.exec(select(Station.name).where(Station.district_id == district_id).order_by(Station.id)).first()


def _existing_phone(engine) -> str:
    with Session(engine) as session:
        return session.exec(select(Customer.phone).where(Customer.user_id == STAR_USER_ID)).one()


def _curve(user_id: str, day: str, values) -> str:
    return f"{user_id},{day}," + ",".join(str(v) for v in values)


def _counts(engine) -> tuple[int, int]:
    with Session(engine) as session:
        customers = session.exec(select(func.count()).select_from(Customer)).one()
        # Customer curves only: an import also updates (or adds) station and district curves.
        curves = session.exec(select(func.count()).select_from(LoadCurve).where(LoadCurve.customer_id != None)).one()  # noqa: E711
    return customers, curves


def test_file_full_of_bad_rows(engine, tmp_path):
    station = _station_of(engine)
    taken_phone = _existing_phone(engine)
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "\n".join(
            [
                HEADER,
                f"700001,南湖机械厂,13900000001,城南区,{station},工业,是,120",  # line 2: good
                f"700002,北苑商场,13900000002,城南,{station},commercial,1,80",  # line 3: good (short district name)
                f"70003,坏编号,13900000003,城南区,{station},工业,是,50",  # line 4: 5-digit id
                f"700001,重复用户,13900000004,城南区,{station},工业,是,50",  # line 5: duplicate of line 2
                f"{STAR_USER_ID},已有用户,13900000005,城南区,{station},工业,是,50",  # line 6: already stored
                f"700006,火星工厂,13900000006,火星区,{station},工业,是,50",  # line 7: unknown district
                "700007,错所工厂,13900000007,城南区,不存在供电所,工业,是,50",  # line 8: unknown station
                f"700008,怪行业,13900000008,城南区,{station},农业,是,50",  # line 9: bad sector
                f"700009,负响应,13900000009,城南区,{station},工业,是,-5",  # line 10: negative declared
                f"700010,坏电话,12345,城南区,{station},工业,是,50",  # line 11: bad phone
                f"700011,撞号,{taken_phone},城南区,{station},工业,是,50",  # line 12: phone taken
                f"700012,零响应,13900000012,城南区,{station},工业,是,0",  # line 13: contracted with 0 kW
                f"700013,,13900000013,城南区,{station},居民,否,0",  # line 14: empty name
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    good = [100.0 + i for i in range(96)]
    missing = list(good)
    missing[11] = ""
    missing[12] = ""
    negative = list(good)
    negative[6] = -3.2
    curves = tmp_path / "curves.csv"
    curves.write_text(
        "\n".join(
            [
                CURVE_HEADER,
                _curve("700001", "2026-06-22", good),  # line 2: good
                _curve("700001", "2026/06/23", good),  # line 3: good, slashed date
                _curve(STAR_USER_ID, "2026-07-01", good),  # line 4: good, existing customer
                _curve("700002", "2026-06-22", missing),  # line 5: missing p12, p13
                _curve("700002", "2026-06-23", negative),  # line 6: negative p7
                _curve("700002", "2026-13-40", good),  # line 7: malformed date
                _curve("700002", "2026-06-24", good[:90]),  # line 8: only 90 intervals
                _curve("700001", "2026-06-22", good),  # line 9: duplicate of line 2
                _curve("799999", "2026-06-22", good),  # line 10: unknown customer
                _curve("700006", "2026-06-22", good),  # line 11: customer row rejected (line 7)
                _curve(STAR_USER_ID, "2026-06-22", good),  # line 12: curve already stored
                _curve("700002", "2026-06-25", ["abc"] + good[1:]),  # line 13: not a number
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    customers_before, curves_before = _counts(engine)

    report = import_csv(engine, customers, curves)

    reasons = {(p.file, p.line): p.reason for p in report.problems}
    expected = {
        ("customers", 4): "6位数字",
        ("customers", 5): "与第2行重复",
        ("customers", 6): "已存在",
        ("customers", 7): "未知区域“火星区”",
        ("customers", 8): "供电所“不存在供电所”不在城南区",
        ("customers", 9): "行业“农业”无效",
        ("customers", 10): "约定响应量“-5”无效",
        ("customers", 11): "手机号“12345”无效",
        ("customers", 12): f"已被用户{STAR_USER_ID}使用",
        ("customers", 13): "应大于0",
        ("customers", 14): "用户名称为空",
        ("curves", 5): "缺少第12、13个时段的负荷",
        ("curves", 6): "第7个时段的负荷为负数",
        ("curves", 7): "日期“2026-13-40”格式无效",
        ("curves", 8): "缺少第91、92、93、94、95等共6个时段的负荷",
        ("curves", 9): "与第2行重复",
        ("curves", 10): "未知用户编号",
        ("curves", 11): "档案行（第7行）有误",
        ("curves", 12): "已存在",
        ("curves", 13): "第1个时段的负荷不是有效数字",
    }
    assert set(reasons) == set(expected)
    for key, fragment in expected.items():
        assert fragment in reasons[key], (key, reasons[key])

    assert report.customers_added == 2
    assert report.curves_added == 3
    assert _counts(engine) == (customers_before + 2, curves_before + 3)
    assert "第4行" in report.summary()
    assert "已导入用户2户、负荷曲线3条" in report.summary()

    with Session(engine) as session:
        added = session.exec(select(Customer).where(Customer.user_id == "700002")).one()
        stored = session.exec(
            select(LoadCurve.values).join(Customer, Customer.id == LoadCurve.customer_id)
            .where(Customer.user_id == "700001", LoadCurve.day == date(2026, 6, 23))
        ).one()
    assert added.phone == "+8613900000002"
    assert added.sector == "commercial"
    assert added.district_id == 1
    np.testing.assert_allclose(decode_curve(stored), good)


def test_clean_files_import_fully(engine, tmp_path):
    station = _station_of(engine, 2)
    customers = tmp_path / "c.csv"
    customers.write_text(f"{HEADER}\n710001,新河超市,+86 139-0000-1111,城北区,{station},商业,否,0\n", encoding="utf-8")
    curves = tmp_path / "v.csv"
    curves.write_text(f"{CURVE_HEADER}\n{_curve('710001', '20260622', [5] * 96)}\n", encoding="utf-8")

    report = import_csv(engine, customers, curves)

    assert report.ok
    assert (report.customers_added, report.curves_added) == (1, 1)
    assert "全部数据均已导入" in report.summary()


def test_gb18030_export_is_read(engine, tmp_path):
    station = _station_of(engine)
    customers = tmp_path / "gbk.csv"
    customers.write_bytes(f"{HEADER}\n720001,白沙纺织厂,13900002222,城南区,{station},工业,是,60\n".encode("gb18030"))

    report = import_csv(engine, customers, None)

    assert report.ok, report.summary()
    with Session(engine) as session:
        assert session.exec(select(Customer.name).where(Customer.user_id == "720001")).one() == "白沙纺织厂"


def test_bad_curves_header_writes_nothing(engine, tmp_path):
    station = _station_of(engine)
    customers = tmp_path / "c.csv"
    customers.write_text(f"{HEADER}\n730001,东郊化工厂,13900003333,城南区,{station},工业,是,90\n", encoding="utf-8")
    curves = tmp_path / "v.csv"
    curves.write_text("user_id,date,p1,p2\n730001,2026-06-22,1,2\n", encoding="utf-8")
    before = _counts(engine)

    with pytest.raises(ImportFormatError) as raised:
        import_csv(engine, customers, curves)

    assert "p3" in raised.value.message_zh
    assert _counts(engine) == before  # the customer row of the same import was rolled back


def test_import_adds_to_grid_curves(engine, tmp_path):
    station = _station_of(engine, 2)
    day = date(2026, 6, 22)
    with Session(engine) as session:
        station_id = session.exec(select(Station.id).where(Station.name == station)).one()
        before_station = decode_curve(session.exec(select(LoadCurve.values).where(LoadCurve.station_id == station_id, LoadCurve.day == day)).one())
        before_district = decode_curve(session.exec(select(LoadCurve.values).where(LoadCurve.district_id == 2, LoadCurve.day == day)).one())
    customers = tmp_path / "c.csv"
    customers.write_text(f"{HEADER}\n730001,东岸冷库,13900003333,城北区,{station},工业,是,100\n", encoding="utf-8")
    curves = tmp_path / "v.csv"
    curves.write_text(f"{CURVE_HEADER}\n{_curve('730001', '2026-06-22', [250] * 96)}\n", encoding="utf-8")

    report = import_csv(engine, customers, curves)

    assert report.ok, report.summary()
    with Session(engine) as session:
        after_station = decode_curve(session.exec(select(LoadCurve.values).where(LoadCurve.station_id == station_id, LoadCurve.day == day)).one())
        after_district = decode_curve(session.exec(select(LoadCurve.values).where(LoadCurve.district_id == 2, LoadCurve.day == day)).one())
    # 250 kW in every interval is 0.25 MW more at the station and in its district.
    np.testing.assert_allclose(after_station - before_station, 0.25, atol=1e-3)
    np.testing.assert_allclose(after_district - before_district, 0.25, atol=1e-3)
