"""Every table, imported in one place so the metadata is complete (migrations, tests)."""

from storage.audit import AuditEntry
from storage.base import Base
from storage.conversations import ConversationState, SeenEvent
from storage.escalations import Escalation, EscalationMessage
from storage.holidays import PublicHoliday
from storage.inbox import InboxUpdate
from storage.leave import LeaveBalance, LeaveRequest, LeaveType
from storage.linking import LinkCode
from storage.live import LiveMessage
from storage.outbox import OutboxMessage
from storage.payroll import Payslip, PayslipLine
from storage.people import ChatIdentity, Employee, EmployeeRole
from storage.schedules import Schedule, SchedulerLease
from storage.stock import StockItem, StockLevel, StockLocation, StockMovement
from storage.tickets import Ticket, TicketComment, TicketStatusChange

__all__ = [
    "AuditEntry", "Base", "ChatIdentity", "ConversationState", "Employee", "EmployeeRole", "Escalation",
    "EscalationMessage", "InboxUpdate", "LeaveBalance", "LeaveRequest", "LeaveType", "LinkCode", "LiveMessage", "OutboxMessage", "Payslip", "PayslipLine",
    "PublicHoliday", "Schedule", "SchedulerLease", "SeenEvent", "StockItem", "StockLevel", "StockLocation", "StockMovement", "Ticket",
    "TicketComment", "TicketStatusChange",
]
