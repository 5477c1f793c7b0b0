"""Domain thresholds and simulator parameters, with units in the field names."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ResponsiblePerson(BaseModel):
    """A person who receives the execution report."""

    name: str
    phone: str


class DRSettings(BaseModel):
    """Demand-response rules and simulator knobs in one place."""

    baseline_days: int = Field(5, description="number of normal workdays averaged into the baseline")
    qualify_rate_min: float = Field(0.8, description="minimum achievement rate (reduction / declared) to qualify")
    settlement_cap_ratio: float = Field(1.2, description="settlement counts at most this multiple of the declared kW")
    subsidy_only_if_qualified: bool = Field(True, description="pay no subsidy to customers that did not qualify")
    reserve_margin_mw: float = Field(50.0, description="operating reserve added to the forecast in the deficit rule")
    default_price_yuan_per_kwh: float = Field(0.8, description="subsidy price of a newly planned event")
    interval_minutes: int = Field(15, description="length of one load-curve interval")
    max_gap_peak_ratio: float = Field(10.0, description="a gap above this multiple of the city's peak load is rejected")
    reply_deadline_hour: int = Field(17, description="replies to an invitation arrive by this hour of the day before the event")
    sms_delivery_max_minutes: int = Field(5, description="latest delivery delay of a simulated SMS")
    sms_failure_rate: float = Field(0.02, description="share of messages to silent customers that the gateway fails to deliver")
    report_recipients: list[ResponsiblePerson] = Field(
        default_factory=lambda: [
            ResponsiblePerson(name="负荷管理中心主任", phone="+8613800000001"),
            ResponsiblePerson(name="调度值班长", phone="+8613800000002"),
        ],
        description="default receivers of send_report",
    )

    @property
    def intervals_per_day(self) -> int:
        return 24 * 60 // self.interval_minutes
