"""`kadam campaign launch|extend`: invite a district, block, school list or the whole state.

The work is storage.campaigns (set-based, one transaction); this module parses the options and
prints the report in the state team's words. Before queuing anything, a launch says which
headmasters' language the template lacks and asks to go ahead (`--yes` answers for a script);
refused or unanswered, it launches nothing and exits with status 1.
"""

from __future__ import annotations

import datetime as dt

import click

from bot.language.i18n import language_name
from storage.campaigns import (
    REASONS,
    AudienceSpec,
    CampaignError,
    LaunchReport,
    extend,
    launch,
    parse_audience,
    preview,
    today,
)

AUDIENCE_HELP = "all, district:NAME, block:NAME or school:CODE; repeat for a union."


def _audience(_ctx: click.Context, _param: click.Parameter,
              values: tuple[str, ...]) -> list[AudienceSpec]:
    """Checks every --audience before anything touches the database."""
    try:
        return [parse_audience(value) for value in values]
    except CampaignError as error:
        raise click.BadParameter(str(error)) from error


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not a date like 2024-07-01") from error


audience_option = click.option("--audience", "audience", multiple=True, required=True,
                               callback=_audience, metavar="SPEC", help=AUDIENCE_HELP)


@click.group()
def campaign() -> None:
    """Campaigns: a template version sent to an audience of schools."""


@campaign.command("launch")
@click.argument("slug")
@audience_option
@click.option(
    "--start",
    "start_date",
    callback=_date,
    metavar="YYYY-MM-DD",
    help="Day 0 of the tasks' schedule; default today in KADAM_TIMEZONE.",
)
@click.option("--name", help="Default: the template's English title and the start date.")
@click.option("--send-time", metavar="HH:MM",
              help="Local time task prompts and reminders go out (default: template, or 10:00).")
@click.option("--reminder-after-days", type=click.IntRange(1), help="Default: template, or 2.")
@click.option("--max-reminders", type=click.IntRange(0), help="Default: template, or 3.")
@click.option("--lapse-after-days", type=click.IntRange(1), help="Default: template, or 14.")
@click.option("--yes", "confirmed", is_flag=True,
              help="Launch without asking when some headmasters' language is missing from the "
                   "template (they read it in their second language, else English).")
def launch_command(
    slug: str, audience: list[AudienceSpec], start_date: dt.date | None, name: str | None,
    send_time: str | None, reminder_after_days: int | None, max_reminders: int | None,
    lapse_after_days: int | None, confirmed: bool,
) -> None:
    """Launch the latest version of template SLUG and invite the audience's headmasters.

    When the template lacks the language of some of the headmasters it would invite, the
    launch says how many and which language, and asks before queuing anything (--yes answers
    yes). Exit status: 0 launched, 1 nothing launched (an error, or the launch declined), 2 a
    bad option.
    """
    from bot.cli import database
    from bot.cli import settings as read_settings

    config = read_settings()
    settings = {"send_time": send_time, "reminder_after_days": reminder_after_days,
                "max_reminders": max_reminders, "lapse_after_days": lapse_after_days}
    db = database(config)
    try:
        start_date = start_date or today(config.timezone)
        review = preview(db, slug, audience, start_date, name=name, settings=settings)
        if review.missing_languages:
            echo_missing_languages(review)
            if not confirmed and not _go_ahead():
                raise click.ClickException("Nothing was launched. Add the missing languages "
                                           "to the template, or launch with --yes.")
        report = launch(db, slug, audience, start_date, name=name, settings=settings)
    except CampaignError as error:
        raise click.ClickException(str(error)) from error
    finally:
        db.dispose()
    echo_report(report, "launched")


@campaign.command("extend")
@click.argument("campaign_id", type=int)
@audience_option
def extend_command(campaign_id: int, audience: list[AudienceSpec]) -> None:
    """Invite more schools to campaign CAMPAIGN_ID; schools already in it are left alone."""
    from bot.cli import database

    db = database()
    try:
        report = extend(db, campaign_id, audience)
    except CampaignError as error:
        raise click.ClickException(str(error)) from error
    finally:
        db.dispose()
    echo_report(report, "extended")


def _go_ahead() -> bool:
    """Asks at the terminal; no answer (a script, an empty standard input) is no."""
    try:
        return click.confirm("Launch anyway?", default=False, err=True)
    except click.Abort:
        click.echo(err=True)
        return False


def echo_missing_languages(report: LaunchReport) -> None:
    """One warning line per language the template lacks, with the headmasters who read it."""
    for code, count in report.missing_languages.items():
        who = "headmaster reads" if count == 1 else "headmasters read"
        click.echo(f"warning: {count} {who} {language_name(code)}, which {report.template} "
                   "lacks: they will get it in their second language, else English", err=True)


def echo_report(report: LaunchReport, verb: str) -> None:
    click.echo(
        f"Campaign {report.campaign_id} “{report.campaign_name}” {verb}: {report.template}, "
        f"starting {report.start_date.isoformat()}"
    )
    click.echo(f"  projects created: {report.projects_created}")
    click.echo(f"  headmasters invited: {report.headmasters_invited}")
    for reason, skipped in report.skipped.items():
        if not skipped.count:
            continue
        more = ", ..." if skipped.count > len(skipped.examples) else ""
        schools = "school" if skipped.count == 1 else "schools"
        click.echo(
            f"  skipped {skipped.count} {schools}: {REASONS[reason]} "
            f"({', '.join(skipped.examples)}{more})"
        )
