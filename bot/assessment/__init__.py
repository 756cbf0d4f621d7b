"""Interactive assessment: which GenAI implementation approach fits a team.

framework.py loads knowledge/assessment.yaml, engine.py scores answers (pure),
sessions.py keeps per-user progress in SQLite for Slack and the CLI.
"""

from .engine import Assessment, InvalidAnswer, RationaleLine, assess, validate_answer
from .framework import (
    UNSURE,
    Approach,
    Citation,
    ConflictRule,
    Framework,
    FrameworkError,
    FrameworkProvider,
    Option,
    Question,
    load_framework,
    parse_framework,
)
from .sessions import AnswerRecord, AssessmentError, AssessmentSessions, Session, map_free_text

__all__ = [
    "UNSURE",
    "AnswerRecord",
    "Approach",
    "Assessment",
    "AssessmentError",
    "AssessmentSessions",
    "Citation",
    "ConflictRule",
    "Framework",
    "FrameworkError",
    "FrameworkProvider",
    "InvalidAnswer",
    "Option",
    "Question",
    "RationaleLine",
    "Session",
    "assess",
    "load_framework",
    "map_free_text",
    "parse_framework",
    "validate_answer",
]
