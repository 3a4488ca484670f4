"""Everything that changes sessions, by resource: the practice's policy and licences, scheduling
(single sessions and series), and admission to the call. Each change is audited."""

from sessions.services.admission import (
    admission_active,
    admission_departed,
    admission_grant,
    admission_returned,
    admission_revoke,
    check_in_latest,
    check_in_record,
    location_last_given,
    rejoin_grace,
)
from sessions.services.policy import (
    licensed_in,
    licenses_set,
    policy_update,
)
from sessions.services.scheduling import (
    appointment_cancel,
    appointment_end,
    appointment_reschedule,
    appointment_schedule,
    occurrences,
    series_cancel_onward,
    series_reschedule_onward,
    series_schedule,
)

__all__ = [
    "admission_active",
    "admission_departed",
    "admission_grant",
    "admission_returned",
    "admission_revoke",
    "appointment_cancel",
    "appointment_end",
    "appointment_reschedule",
    "appointment_schedule",
    "check_in_latest",
    "check_in_record",
    "licensed_in",
    "licenses_set",
    "location_last_given",
    "occurrences",
    "policy_update",
    "rejoin_grace",
    "series_cancel_onward",
    "series_reschedule_onward",
    "series_schedule",
]
