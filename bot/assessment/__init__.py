"""Interactive assessment: which GenAI implementation approach fits a team.

framework.py loads knowledge/assessment.yaml, engine.py scores answers (pure),
sessions.py keeps per-user progress in SQLite for Slack and the CLI, interpret.py reads typed
replies and conversation.py decides what a reply does to a session (for every shell).
"""

from .conversation import Conversation, Turn
from .engine import Assessment, Change, InvalidAnswer, RationaleLine, assess, validate_answer
from .framework import (
    UNSURE,
    Approach,
    Citation,
    ConflictRule,
    Framework,
    FrameworkError,
    FrameworkProvider,
    HardRule,
    Option,
    Question,
    load_framework,
    parse_framework,
)
from .interpret import Interpretation, Interpreter, ReplyError
from .sessions import AnswerRecord, AssessmentError, AssessmentSessions, Session

__all__ = [
    "UNSURE",
    "AnswerRecord",
    "Approach",
    "Assessment",
    "AssessmentError",
    "AssessmentSessions",
    "Change",
    "Citation",
    "ConflictRule",
    "Conversation",
    "Framework",
    "FrameworkError",
    "FrameworkProvider",
    "HardRule",
    "Interpretation",
    "Interpreter",
    "InvalidAnswer",
    "Option",
    "Question",
    "RationaleLine",
    "ReplyError",
    "Session",
    "Turn",
    "assess",
    "load_framework",
    "parse_framework",
    "validate_answer",
]
