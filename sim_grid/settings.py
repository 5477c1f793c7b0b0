"""Domain thresholds and simulator parameters, with units in the field names."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# Customer baseline methods an event can use (sim_grid.rules.baseline describes each).
BaselineMethod = Literal["recent", "high_5_of_10", "caiso_10_in_10", "pjm_high_4_of_5"]
# In a peak-shaving event (削峰) the load must fall below the baseline. In a valley-filling
# event (填谷) it must rise above it.
EventDirection = Literal["peak", "valley"]


class ResponsiblePerson(BaseModel):
    """A person who receives the execution report."""

    name: str
    phone: str


class DRSettings(BaseModel):
    """Demand-response rules and simulator knobs in one place."""

    baseline_days: int = Field(5, description="number of normal workdays averaged into the baseline")
    default_baseline_method: BaselineMethod = Field("recent", description="baseline method of a newly planned event")
    high_baseline_pool_days: int = Field(10, description="high_5_of_10: recent normal workdays the highest days are picked from")
    high_baseline_kept_days: int = Field(5, description="high_5_of_10: days with the highest window load that are averaged")
    caiso_baseline_days: int = Field(10, description="caiso_10_in_10: recent normal workdays averaged before the adjustment")
    caiso_adjustment_hours: float = Field(3.0, description="caiso_10_in_10: length of the day-of adjustment period")
    caiso_adjustment_gap_hours: float = Field(1.0, description="caiso_10_in_10: hours between the adjustment period's end and the event start")
    caiso_adjustment_cap_ratio: float = Field(0.2, description="caiso_10_in_10: the adjustment ratio is clipped to 1 ± this value")
    pjm_pool_days: int = Field(5, description="pjm_high_4_of_5: recent normal workdays the highest days are picked from")
    pjm_kept_days: int = Field(4, description="pjm_high_4_of_5: days with the highest window load that are averaged")
    qualify_rate_min: float = Field(0.8, description="minimum achievement rate (reduction / declared) to qualify")
    settlement_cap_ratio: float = Field(1.2, description="settlement counts at most this multiple of the declared kW")
    subsidy_only_if_qualified: bool = Field(True, description="pay no subsidy to customers that did not qualify")
    subsidy_floor_rate: float = Field(
        0.5, description="below this achievement rate no subsidy is paid, even when unqualified customers are paid"
    )
    shortfall_penalty_yuan_per_kwh: float = Field(
        0.0, description="below subsidy_floor_rate, the undelivered kW × hours is charged at this price (0: no penalty)"
    )
    forecast_error_sd_ratio: float = Field(
        0.02, description="random cities: standard deviation of the day-ahead forecast error as a share of the metered load"
    )
    forecast_error_autocorrelation: float = Field(
        0.9, description="random cities: lag-one autocorrelation of the forecast error between intervals"
    )
    reserve_margin_mw: float = Field(50.0, description="operating reserve added to the forecast in the deficit rule")
    default_price_yuan_per_kwh: float = Field(0.8, description="subsidy price of a newly planned event")
    interval_minutes: int = Field(15, description="length of one load-curve interval")
    max_gap_peak_ratio: float = Field(10.0, description="a gap above this multiple of the city's peak load is rejected")
    reply_deadline_hour: int = Field(17, description="replies to an invitation arrive by this hour of the day before the event")
    sms_delivery_max_minutes: int = Field(5, description="latest delivery delay of a simulated SMS")
    sms_failure_rate: float = Field(0.02, description="share of messages to silent customers that the gateway fails to deliver")
    quiet_hours_start_hour: int | None = Field(
        22, ge=0, le=23, description="first hour (simulator clock) in which no SMS is sent (None: no quiet hours)"
    )
    quiet_hours_end_hour: int | None = Field(
        8, ge=0, le=23, description="quiet hours end at this hour; an end before the start spans midnight"
    )
    # NOTE: 300 is a cautious guess, not a provider figure; set it to the sender's contracted throughput.
    max_sends_per_minute: int | None = Field(
        300, ge=1, description="messages handed to an external gateway per minute of wall-clock time (None: no limit)"
    )
    handover_lease_seconds: float = Field(
        120, ge=0, description="an outbox row handed to an external gateway less than this long ago belongs to a sender "
        "that is still running; older ones are taken for hand-overs cut off by a crash and are checked and resent"
    )
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
