"""Every table of the project. Importing this package registers them all on Base.metadata."""
from sqlalchemy import event as _event  # noqa: E402

from core.db import Base  # noqa: F401
from core.models import references as _references  # noqa: E402
from core.models.campaigns import Campaign, CampaignPledge  # noqa: F401
from core.models.complexes import ApartmentComplex  # noqa: F401
from core.models.dialogs import DialogState, MissStreak  # noqa: F401
from core.models.greenlife import GreenlifeActivity, GreenlifeAward, GreenlifeConfirmation, GreenlifeMember  # noqa: F401
from core.models.members import HouseholdDispute, LocalGovernment, Member, MemberAddress, ResourceAccount  # noqa: F401
from core.models.operators import AuditEntry, AuthCounter, Operator, OperatorSession, OperatorToken  # noqa: F401
from core.models.outbox import Notification  # noqa: F401
from core.models.points import (  # noqa: F401
    LedgerEntry,
    LocalGovernmentRate,
    PayoutBatch,
    PayoutLine,
    PointStatement,
    SettlementRun,
    StatementLine,
    StatementRevision,
)
from core.models.progress import PreparedProgress  # noqa: F401
from core.models.push import (  # noqa: F401
    CampaignBroadcast,
    ChannelEvent,
    EventBatch,
    JobLease,
    JobRun,
    PushBudget,
    PushSender,
)
from core.models.unmatched import UnmatchedQuestion  # noqa: F401
from core.models.usage import ImportChange, ImportRun, MeterReading  # noqa: F401


@_event.listens_for(Base.metadata, "after_create")
def _install_references(_metadata, conn, **_kw) -> None:
    """create_all builds the reference triggers too (migration 0002 does for upgrades)."""
    _references.install(conn)
