"""The one assessment conversation, driven through the core service: what a typed reply does
(the issue's anecdotes included), the confirmation step, bad input, and a model as classifier
routed like any request."""

from __future__ import annotations

import pytest

from bot.assessment import InvalidAnswer, ReplyError, assess
from bot.core import AdvisorService
from tests.support.mock_openai import MockOpenAI


@pytest.fixture()
def service(built_index, embedder):
    svc = AdvisorService(built_index)
    svc._embedder = embedder
    return svc


@pytest.fixture()
def session(service):
    user = "UCONVO"
    existing = service.sessions.open_for(user)
    if existing:
        service.sessions.cancel(existing.id, user)
    return service.sessions.start(user)


def test_anecdotes_from_the_issue(service):
    assert service.interpret_reply("mlops_expertise", "we have two people who ran kubeflow before").value == "yes"
    volume = service.interpret_reply("scale", "maybe 200 requests a day")
    assert (volume.value, volume.confirm) == ("low", False) and "200" in volume.why
    assert service.interpret_reply("differentiation", "summarizing support tickets").value == "generic"
    denied = service.interpret_reply("mlops_expertise", "nobody here has run models in production")
    assert (denied.value, denied.confirm) == ("no", False)
    framework = service.frameworks.get()
    result = assess(
        framework,
        {
            "mlops_expertise": "no",
            "data_residency": "yes",
            "timeline": "weeks",
            "scale": "low",
            "differentiation": "generic",
        },
    )
    assert result.recommendation == "hybrid" and any("decided the recommendation" in r for r in result.rules)


@pytest.mark.parametrize(
    "reply, value",
    [
        ("a month", "weeks"),
        ("6 weeks", "weeks"),
        ("half a year", "months"),
        ("it depends", "unsure"),
        ("not sure", "unsure"),
    ],
)
def test_durations_and_hedges(service, reply, value):
    assert service.interpret_reply("timeline", reply).value == value


def test_the_confirmation_accepts_a_number_yes_no_or_a_new_reply(service, session):
    user = session.user
    doubtful = "we'd need legal to look at some contracts maybe"
    service.assessment_reply(session.id, user, "nope")  # question 1 answered: on residency now
    turn = service.assessment_reply(session.id, user, doubtful)
    assert turn.kind == "confirm" and turn.message.startswith("Did you mean")
    turn = service.assessment_reply(session.id, user, "1")  # the option's number: "No"
    assert turn.kind == "answered" and turn.session.answers["data_residency"] == "no"

    service.assessment_reply(session.id, user, "back")
    turn = service.assessment_reply(session.id, user, doubtful)
    pending = turn.value
    turn = service.assessment_reply(session.id, user, "yes")
    assert turn.kind == "answered" and turn.session.answers["data_residency"] == pending
    assert turn.session.answer_records[-1].how == "confirmed"

    service.assessment_reply(session.id, user, "back")
    service.assessment_reply(session.id, user, doubtful)
    turn = service.assessment_reply(session.id, user, "no")
    assert turn.kind == "rejected" and "data_residency" not in turn.session.answers
    service.assessment_reply(session.id, user, doubtful)
    turn = service.assessment_reply(session.id, user, "legal says EU data must stay in the EU")  # a new reply
    assert turn.kind == "answered" and turn.session.answers["data_residency"] == "yes"


def test_bad_input_is_refused_and_loses_nothing(service, session):
    user = session.user
    service.assessment_reply(session.id, user, "yes")
    before = service.sessions.get(session.id).to_dict()
    for junk, code in (("", "empty"), ("   ", "empty"), ("x" * 5000, "too_long"), ("\x00\x01\x02\xff", "not_text")):
        turn = service.assessment_reply(session.id, user, junk)
        assert turn.kind == "invalid" and turn.message, junk
        assert service.sessions.get(session.id).to_dict() == before
        with pytest.raises(ReplyError) as info:
            service.interpret_reply("scale", junk)
        assert info.value.code == code
    with pytest.raises(InvalidAnswer, match="Valid questions: mlops_expertise"):
        service.interpret_reply("budget", "yes")
    turn = service.assessment_reply(session.id, "USOMEONEELSE", "yes")
    assert turn.kind == "refused" and "someone else" in turn.message
    assert service.sessions.get(session.id).to_dict() == before
    turn = service.assessment_reply(session.id, user, "what does data residency mean?")
    assert turn.kind == "not_for_us"  # a question for the advisor, answered from the knowledge
    assert service.sessions.get(session.id).to_dict() == before


@pytest.fixture()
def with_paas(monkeypatch, built_index, embedder):
    with MockOpenAI(reply="yes", delay=0.01) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
        svc = AdvisorService(built_index.model_copy(update={"llm": "openai:gpt-test", "llm_retries": 0}))
        svc._embedder = embedder
        yield svc, server


def test_a_model_classifies_cross_checked_and_a_sensitive_reply_never_reaches_a_paas(with_paas):
    service, server = with_paas
    agreed = service.interpret_reply("mlops_expertise", "we run a fraud detection model in production")
    assert len(server.requests) == 1 and agreed.value == "yes" and not agreed.confirm
    assert "agree" in agreed.why
    disagreed = service.interpret_reply("mlops_expertise", "nobody here has run models in production")
    assert disagreed.value == "yes" and disagreed.confirm  # the offline reading said no: ask
    sensitive = service.interpret_reply("mlops_expertise", "ask jane.doe@example.com, she runs our GPU cluster")
    assert len(server.requests) == 2  # personal data: not sent to the PaaS model
    assert "jane.doe@example.com" not in server.received_text()
    assert sensitive.value is not None
    exact = service.interpret_reply("mlops_expertise", "2")  # an option number needs no model
    assert exact.value == "yes" and len(server.requests) == 2


def test_doubt_about_something_else_is_asked_about_not_taken(service):
    # "depends on it" is about the deal, not doubt about the timeline.
    assert service.interpret_reply("timeline", "in 2 weeks, a customer deal depends on it").value == "weeks"
    # Doubt next to a date: the date may answer, or the doubt may; ask which.
    found = service.interpret_reply("timeline", "depends on whether we get budget in january")
    assert found.value == "unsure" and found.confirm


@pytest.mark.parametrize(
    "question, reply, value",
    [
        # an opening answer taken back: the correction counts, not the first word
        ("mlops_expertise", "yes — hang on, no, sorry, that was my last job. nobody here has", "no"),
        ("data_residency", "no. well actually yes, the health records have to stay in-country", "yes"),
        ("differentiation", "generic, no wait, specialized: it is built on our own claims data", "specialized"),
        # context first, the answer last
        ("timeline", "we were told to take the whole of next year and do it properly. So months.", "months"),
        # a limit on where, not a denial
        ("data_residency", "no processing of member data outside Switzerland, that's the law", "yes"),
        # the alternative compared against is not the answer
        ("timeline", "a long-term platform bet rather than a quick launch", "months"),
        # a qualifier after an opening option name
        ("scale", "low at the moment, it's an internal pilot", "low"),
        # a head count beside a rate is the team, the rate is the volume
        ("scale", "we're 12 engineers; it will serve about 5 million calls a day", "high"),
        # an understatement that affirms, and a cue after "without"
        ("data_residency", "can't say we don't, it's defence data and it stays on our own hardware", "yes"),
        ("differentiation", "plain summaries of public news, any model does that without fine-tuning", "generic"),
    ],
)
def test_corrections_conclusions_and_limits_are_read_as_meant(service, question, reply, value):
    found = service.interpret_reply(question, reply)
    assert found.value == value, found.why


@pytest.mark.parametrize(
    "question, reply",
    [
        ("data_residency", "legal is still evaluating whether these logs count as personal data"),
        ("differentiation", "let me think about it, parts are stock summarising and parts need our data"),
        ("mlops_expertise", "the client wasn't sure, they will ask their platform lead"),
    ],
)
def test_undecided_replies_are_unsure(service, question, reply):
    assert service.interpret_reply(question, reply).value == "unsure"


@pytest.mark.parametrize(
    "reply", ["sure, we have loads of GPUs lying around... not", "yeah sure, we have a whole MLOps team"]
)
def test_a_sarcastic_yes_is_asked_about(service, reply):
    found = service.interpret_reply("mlops_expertise", reply)
    assert found.value == "yes" and found.confirm, found.why
