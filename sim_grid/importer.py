"""Importing customer lists and meter curves exported by a load-management system (负荷管理系统).

Customers file, one row per customer:
    user_id,name,phone,district,station,sector,contracted,declared_kw
Curves file, one row per customer per day, loads in kW, p1 covering 00:00-00:15:
    user_id,date,p1,p2,...,p96

Columns may come in any order and extra columns are ignored. Files may be UTF-8 (with or
without a BOM) or GB18030, the encoding of Excel exports on Chinese Windows. A district is
named in full (城南区) or short (城南) and must exist; the station must exist in it.

Every row is checked. A bad row is left out and reported with its line number (the header is
line 1) and the reasons in Chinese. Every good row is kept. All rows are written in one
transaction, so a database failure leaves nothing half-written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, insert
from sqlmodel import Session, col, select

from sim_grid import import_checks as check
from sim_grid.db import decode_curve, encode_curve
from sim_grid.errors import SimError
from sim_grid.models import Customer, District, LoadCurve, Station
from sim_grid.responses import id_chunks
from sim_grid.settings import DRSettings

CUSTOMER_COLUMNS = ("user_id", "name", "phone", "district", "station", "sector", "contracted", "declared_kw")
CURVE_BATCH_ROWS = 5000
REPORTED_PROBLEMS = 20  # problems spelled out in the summary; the report keeps all of them


class ImportFormatError(SimError):
    """Raised when a file cannot be read as the expected CSV layout (header or encoding)."""

    def __init__(self, path: str | Path, problem: str, message_zh: str):
        super().__init__(f"{path}: {problem}")
        self.message_zh = message_zh


@dataclass(frozen=True)
class RowProblem:
    """A rejected row: its file, line number (header = 1), user id if readable, and why."""

    file: str  # "customers" or "curves"
    line: int
    user_id: str | None
    reason: str  # Chinese, for the dispatcher


@dataclass
class ImportReport:
    """The outcome of an import: counts of stored rows and the rejected rows."""

    customers_added: int = 0
    curves_added: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """Return a Chinese summary for the dispatcher, listing the first REPORTED_PROBLEMS problems."""
        text = f"已导入用户{self.customers_added}户、负荷曲线{self.curves_added}条。"
        if not self.problems:
            return text + "全部数据均已导入。"
        text += f"有{len(self.problems)}行数据有误，未导入："
        names = {"customers": "用户档案", "curves": "负荷曲线"}
        lines = []
        for problem in self.problems[:REPORTED_PROBLEMS]:
            who = f"（用户{problem.user_id}）" if problem.user_id else ""
            lines.append(f"{names[problem.file]}第{problem.line}行{who}：{problem.reason}")
        if len(self.problems) > REPORTED_PROBLEMS:
            lines.append(f"另有{len(self.problems) - REPORTED_PROBLEMS}行问题未列出。")
        return text + "\n" + "\n".join(lines)


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFormatError(path, "neither UTF-8 nor GB18030", f"文件{path.name}的编码无法识别，请另存为UTF-8编码的CSV。")


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str], int]]:
    """Yield (line number, cells by column, extra cell count) for each non-empty data row.

    Raises ImportFormatError when a required column is missing from the header.
    """
    reader = csv.reader(io.StringIO(_read_text(path)))
    header = [name.strip().lower() for name in next(reader, [])]
    missing = [name for name in required if name not in header]
    if missing:
        raise ImportFormatError(
            path, f"header lacks {', '.join(missing)}", f"文件{path.name}的表头缺少列：{', '.join(missing)}。"
        )
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        values = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header)}
        yield reader.line_num, values, max(len(cells) - len(header), 0)


@dataclass
class _NewCustomer:
    line: int
    fields: dict


def _check_customers(session: Session, path: Path, report: ImportReport) -> tuple[list[_NewCustomer], dict[str, int]]:
    """Return the good customer rows and the line of every rejected user id."""
    districts = session.exec(select(District)).all()
    district_by_name = {d.name: d for d in districts} | {d.short_name: d for d in districts}
    stations = {(s.district_id, s.name): s for s in session.exec(select(Station)).all()}

    parsed: list[tuple[int, str | None, dict, list[str]]] = []
    for line, cells, extra in _rows(path, CUSTOMER_COLUMNS):
        fields, reasons = {}, []
        if extra:
            reasons.append("列数多于表头")
        for name, parse in (("user_id", check.user_id), ("phone", check.phone), ("sector", check.sector), ("contracted", check.flag)):
            try:
                fields[name] = parse(cells[name])
            except check.BadField as error:
                reasons.append(str(error))
        try:
            fields["declared_kw"] = check.declared_kw(cells["declared_kw"], fields.get("contracted"))
        except check.BadField as error:
            reasons.append(str(error))
        fields["name"] = cells["name"].strip()
        if not fields["name"]:
            reasons.append("用户名称为空")

        district = district_by_name.get(cells["district"].strip())
        if district is None:
            reasons.append(f"未知区域“{cells['district'].strip()}”")
        else:
            station = stations.get((district.id, cells["station"].strip()))
            if station is None:
                reasons.append(f"供电所“{cells['station'].strip()}”不在{district.name}")
            else:
                fields["district_id"], fields["station_id"] = district.id, station.id
        parsed.append((line, fields.get("user_id") or cells["user_id"].strip() or None, fields, reasons))

    # Duplicates against earlier rows of the file and against the database.
    user_ids = [fields["user_id"] for _, _, fields, _ in parsed if "user_id" in fields]
    phones = [fields["phone"] for _, _, fields, _ in parsed if "phone" in fields]
    known_ids = _existing(session, Customer.user_id, Customer.user_id, user_ids)
    known_phones = _existing(session, Customer.phone, Customer.user_id, phones)
    first_line_of_id: dict[str, int] = {}
    first_line_of_phone: dict[str, int] = {}
    good, rejected = [], {}
    for line, user_id, fields, reasons in parsed:
        if "user_id" in fields:
            if fields["user_id"] in known_ids:
                reasons.append("用户编号已存在于系统中")
            elif fields["user_id"] in first_line_of_id:
                reasons.append(f"用户编号与第{first_line_of_id[fields['user_id']]}行重复")
            first_line_of_id.setdefault(fields["user_id"], line)
        if "phone" in fields:
            if fields["phone"] in known_phones:
                reasons.append(f"手机号已被用户{known_phones[fields['phone']]}使用")
            elif fields["phone"] in first_line_of_phone:
                reasons.append(f"手机号与第{first_line_of_phone[fields['phone']]}行重复")
            first_line_of_phone.setdefault(fields["phone"], line)
        if reasons:
            report.problems.append(RowProblem("customers", line, user_id, "；".join(reasons)))
            if user_id:
                rejected.setdefault(user_id, line)
        else:
            good.append(_NewCustomer(line, fields))
    return good, rejected


def _existing(session: Session, column, label_column, values: list[str]) -> dict[str, str]:
    """Return {value: label} for the values already stored in `column`."""
    found = {}
    for start in range(0, len(values), 5000):
        chunk = values[start : start + 5000]
        found.update(dict(session.exec(select(column, label_column).where(col(column).in_(chunk))).all()))
    return found


def _insert_customers(session: Session, good: list[_NewCustomer]) -> None:
    if good:
        session.execute(insert(Customer), [{**c.fields, "opted_out": False} for c in good])


def _import_curves(
    session: Session, path: Path, customer_ids: dict[str, int], rejected: dict[str, int], report: ImportReport, intervals: int
) -> None:
    """Check the curve rows and insert the good ones in batches, all inside the caller's transaction."""
    required = ("user_id", "date", *(f"p{i}" for i in range(1, intervals + 1)))
    first_line: dict[tuple[str, date], int] = {}
    batch: list[tuple[int, str, date, bytes]] = []
    added: list[tuple[int, date, bytes]] = []

    def flush() -> None:
        stored = _stored_days(session, {(customer_ids[u], d) for _, u, d, _ in batch})
        rows = []
        for line, user, day, blob in batch:
            if (customer_ids[user], day) in stored:
                report.problems.append(RowProblem("curves", line, user, f"该用户{day.isoformat()}的负荷曲线已存在"))
            else:
                rows.append({"day": day, "customer_id": customer_ids[user], "values": blob})
        if rows:
            session.execute(insert(LoadCurve), rows)
            report.curves_added += len(rows)
            added.extend((row["customer_id"], row["day"], row["values"]) for row in rows)
        batch.clear()

    for line, cells, extra in _rows(path, required):
        reasons = ["列数多于表头"] if extra else []
        user = cells["user_id"].strip()
        try:
            user = check.user_id(user)
            if user not in customer_ids and user in rejected:
                reasons.append(f"该用户的档案行（第{rejected[user]}行）有误，曲线未导入")
            elif user not in customer_ids:
                reasons.append("未知用户编号，请先导入用户档案")
        except check.BadField as error:
            reasons.append(str(error))
        day = None
        try:
            day = check.day(cells["date"])
        except check.BadField as error:
            reasons.append(str(error))
        values = None
        try:
            values = check.load_values([cells[f"p{i}"] for i in range(1, intervals + 1)], intervals)
        except check.BadField as error:
            reasons.append(str(error))
        if day is not None and not reasons:
            if (user, day) in first_line:
                reasons.append(f"与第{first_line[(user, day)]}行重复（同一用户同一日期）")
            first_line.setdefault((user, day), line)

        if reasons:
            report.problems.append(RowProblem("curves", line, user or None, "；".join(reasons)))
            continue
        batch.append((line, user, day, encode_curve(np.array(values))))
        if len(batch) >= CURVE_BATCH_ROWS:
            flush()
    if batch:
        flush()
    _add_to_grid_curves(session, added)


def _add_to_grid_curves(session: Session, added: list[tuple[int, date, bytes]]) -> None:
    """Add imported customer curves (kW) to their station's and district's curves (MW) of the same day.

    A station or district without a curve that day gets one that contains the imported load alone,
    because the grid's other load on that day is unknown.
    """
    if not added:
        return
    owners: dict[int, tuple[int, int]] = {}
    for chunk in id_chunks(sorted({customer_id for customer_id, _, _ in added})):
        query = select(Customer.id, Customer.station_id, Customer.district_id).where(col(Customer.id).in_(chunk))
        owners.update({customer_id: (station, district) for customer_id, station, district in session.exec(query)})
    sums: dict[tuple[str, int, date], np.ndarray] = {}
    for customer_id, day, blob in added:
        station, district = owners[customer_id]
        load_mw = decode_curve(blob) / 1000.0
        for key in (("station_id", station, day), ("district_id", district, day)):
            sums[key] = sums.get(key, 0.0) + load_mw
    for (column_name, owner, day), load_mw in sums.items():
        column = getattr(LoadCurve, column_name)
        row = session.exec(select(LoadCurve).where(column == owner, LoadCurve.day == day)).first()
        if row is None:
            session.add(LoadCurve(day=day, values=encode_curve(load_mw), **{column_name: owner}))
        else:
            row.values = encode_curve(decode_curve(row.values) + load_mw)
    session.flush()


def _stored_days(session: Session, keys: set[tuple[int, date]]) -> set[tuple[int, date]]:
    """Return which (customer id, day) pairs already have a stored curve."""
    customer_ids = sorted({customer_id for customer_id, _ in keys})
    days = sorted({day for _, day in keys})
    stored = set()
    for chunk in id_chunks(customer_ids):
        query = select(LoadCurve.customer_id, LoadCurve.day).where(
            col(LoadCurve.customer_id).in_(chunk), col(LoadCurve.day).in_(days)
        )
        stored.update(session.exec(query).all())
    return stored & keys


def import_csv(
    engine: Engine,
    customers_csv: str | Path | None,
    curves_csv: str | Path | None,
    settings: DRSettings | None = None,
) -> ImportReport:
    """Import a customer list and meter curves into an existing city, in one transaction.

    Either file may be None. Curve rows may name customers of the customers file or customers
    already stored. Returns the report of what was stored and which rows were rejected.
    Raises ImportFormatError (with a Chinese message_zh) when a file's header or encoding is
    unreadable; nothing is written then.

    Each imported customer curve is added to its station's and district's curve of that day.
    """
    settings = settings or DRSettings()
    report = ImportReport()
    with Session(engine) as session:
        good, rejected = ([], {}) if customers_csv is None else _check_customers(session, Path(customers_csv), report)
        _insert_customers(session, good)
        report.customers_added = len(good)
        if curves_csv is not None:
            stored = _stored_user_ids(session)  # includes the customers just inserted
            _import_curves(session, Path(curves_csv), stored, rejected, report, settings.intervals_per_day)
        session.commit()
    report.problems.sort(key=lambda p: (p.file != "customers", p.line))
    return report


def _stored_user_ids(session: Session) -> dict[str, int]:
    return dict(session.exec(select(Customer.user_id, Customer.id)).all())
