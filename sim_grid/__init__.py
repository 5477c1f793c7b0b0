"""SQLite simulator of a city's grid and demand-response customers.

The public surface is re-exported here. The package imports nothing from tools, agents or models.
"""

from sim_grid.audit import AuditEntry, list_audit, record_audit
from sim_grid.city import copy_city, create_city, create_province, open_city
from sim_grid.clock import read_clock, resolve_date
from sim_grid.directory import list_customer_ids, list_districts, resolve_district
from sim_grid.errors import ClockError, InvalidDateError, SimError, UnknownCustomerError, UnknownDistrictError
from sim_grid.settings import DRSettings, ResponsiblePerson
from sim_grid.sms import inject_reply
from sim_grid.timeline import advance_clock

__all__ = [
    "AuditEntry",
    "list_audit",
    "record_audit",
    "ClockError",
    "DRSettings",
    "InvalidDateError",
    "ResponsiblePerson",
    "SimError",
    "UnknownCustomerError",
    "UnknownDistrictError",
    "advance_clock",
    "copy_city",
    "create_city",
    "create_province",
    "inject_reply",
    "list_customer_ids",
    "list_districts",
    "open_city",
    "read_clock",
    "resolve_date",
    "resolve_district",
]
