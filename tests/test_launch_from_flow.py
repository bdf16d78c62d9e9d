"""A launch writes, set-based, exactly what the headmaster flow decides for each invitation.

For every project a real launch made, the stored invitation (key, options, and its params once
the worker fills them) and the stored conversation (state, context) are compared, field by
field, with what `step(snapshot, state, Invitation(project_id), now)` returns for a snapshot
read from the database: the launch may not say anything the flow would not.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.language.messages import render
from flows import effects as fx
from flows.events import Invitation
from flows.headmaster import State, step
from storage import conversations
from storage.campaigns import extend, invitation_params_many, launch
from storage.db import Database
from storage.models import Conversation, Outbox, Person, Project
from tests.factories import make_headmaster, make_school, make_template

NOW = dt.datetime(2024, 7, 1, 4, 30, tzinfo=dt.UTC)
START = dt.date(2024, 7, 1)
EARLIER = NOW - dt.timedelta(days=20)


@pytest.fixture
def roster(db: Database) -> dict[str, int]:
    """Five schools in Pune: Asha reads Hindi, Ravi has SMS, Meena opted out, Imran is half-way
    through a task of an earlier project, Lata is still invited to an earlier campaign."""
    with db.transaction() as session:
        make_template(session)
        make_template(session, "reading-corner", title={"en": "A reading corner"},
                      duration_days=30)
        people = {
            "Asha": make_headmaster(session, make_school(session, "P1"), name="Asha",
                                    language="hi"),
            "Ravi": make_headmaster(session, make_school(session, "P2"), name="Ravi",
                                    channel="sms"),
            "Meena": make_headmaster(session, make_school(session, "P3"), name="Meena",
                                     opted_out_at=EARLIER),
            "Imran": make_headmaster(session, make_school(session, "P4"), name="Imran"),
            "Lata": make_headmaster(session, make_school(session, "P5"), name="Lata"),
        }
        session.add(Conversation(person_id=people["Imran"].id, state="task",
                                 context={"project_id": 7, "task_id": 70, "photo": True},
                                 updated_at=EARLIER))
        return {name: person.id for name, person in people.items()}


def _states(db: Database) -> dict[int, State]:
    with db.sessions() as session:
        return {c.person_id: State(c.state, dict(c.context))
                for c in session.scalars(select(Conversation))}


def _assert_launch_matches_the_flow(db: Database, campaign_id: int,
                                    before: dict[int, State]) -> int:
    """Compares every project of the campaign with the flow; returns how many were invited."""
    invited = 0
    with db.sessions() as session:
        projects = session.scalars(select(Project).where(Project.campaign_id == campaign_id)
                                   .order_by(Project.id)).all()
        assert projects
        filled = invitation_params_many(session, [p.id for p in projects])
        for project in projects:
            person = session.get(Person, project.headmaster_id)
            assert person is not None
            snapshot = conversations.snapshot(session, person, START, NOW)
            state = before.get(person.id, State())
            result = step(snapshot, state, Invitation(project.id), NOW)
            rows = session.scalars(select(Outbox).where(Outbox.project_id == project.id)).all()
            conversation = session.get(Conversation, person.id)

            if person.opted_out_at is not None:
                # The flow says nothing and keeps the state; the launch queues nothing and
                # leaves the conversation alone.
                assert result.effects == [] and result.state == state
                assert rows == []
                stored = (State(conversation.state, conversation.context) if conversation
                          else State())
                assert stored == state
                continue

            invited += 1
            assert result.effects[0] == fx.InvitationSent(project.id)
            assert project.invited_at == NOW  # what InvitationSent records
            assert [type(e) for e in result.effects] == [fx.InvitationSent, fx.Reply]
            reply = result.effects[1]
            assert isinstance(reply, fx.Reply)

            [row] = rows
            assert row.key == reply.key == "invitation"
            assert tuple(row.options) == reply.options
            assert row.person_id == snapshot.person_id
            assert row.project_id == reply.project_id == project.id
            assert row.task_id == reply.task_id
            assert row.params == {}  # filled when the worker sends it
            # The worker's params are the flow's, with the project's id (which the flow's
            # reply carries beside its params).
            assert filled[project.id] == {**reply.params, "project_id": reply.project_id}
            # ...so the headmaster reads the same words either way.
            language = person.language
            assert (render(row.key, filled[project.id], row.options, language).numbered()
                    == render(reply.key, reply.params, reply.options, language).numbered())

            assert conversation is not None
            assert conversation.state == result.state.name
            assert conversation.context == result.state.context
    return invited


def test_a_launch_writes_what_the_flow_decides_for_each_invitation(db, roster):
    before = _states(db)
    report = launch(db, "clean-classrooms", ["district:Pune"], START, now=NOW)

    assert report.projects_created == 5 and report.headmasters_invited == 4
    assert _assert_launch_matches_the_flow(db, report.campaign_id, before) == 4
    # Imran's task in hand survives the invitation, in the flow as in the database.
    with db.sessions() as session:
        imran = session.get(Conversation, roster["Imran"])
        assert imran.state == "invited"
        assert imran.context["task_id"] == 70 and imran.context["photo"] is True


def test_a_second_campaign_invites_as_the_flow_does_over_a_pending_invitation(db, roster):
    first = launch(db, "reading-corner", ["school:P5"], START, now=EARLIER)
    before = _states(db)
    assert before[roster["Lata"]].name == "invited"

    report = launch(db, "clean-classrooms", ["all"], START, now=NOW)

    assert _assert_launch_matches_the_flow(db, report.campaign_id, before) == 4
    with db.sessions() as session:
        lata = session.get(Conversation, roster["Lata"])
        assert lata.context["project_id"] != before[roster["Lata"]].context["project_id"]
        assert session.scalar(select(Project.campaign_id).where(
            Project.id == lata.context["project_id"])) == report.campaign_id != first.campaign_id


def test_extending_a_campaign_writes_what_the_flow_decides(db, roster):
    report = launch(db, "clean-classrooms", ["school:P1"], START, now=NOW)
    with db.transaction() as session:
        make_headmaster(session, make_school(session, "P6"), name="Late")
    before = _states(db)

    again = extend(db, report.campaign_id, ["all"], now=NOW)

    assert again.projects_created == 5 and again.headmasters_invited == 4
    assert _assert_launch_matches_the_flow(db, report.campaign_id, before) == 5
