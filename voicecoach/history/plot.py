"""The history as one picture: minutes held in the stretches per day and the stiffness trend
(matplotlib).

matplotlib is imported inside `plot_history`, with the Agg backend, so nothing else pays for it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from voicecoach.history import SessionRecord

_LOGGER = logging.getLogger(__name__)

MIN_DAYS = 7
"""Without a chosen window the plot shows at least a week, so a short history is not one bar."""
MAX_DAYS = 731
"""The most days drawn (two years of bars): a longer window shows its last MAX_DAYS days."""
MAX_TICKS = 10
"""Date labels on the x axis at most; each names its month."""


@dataclass(frozen=True)
class PlotSpan:
    """What a plot drew: its first and last day, its sessions and its date labels."""

    first: date
    last: date
    sessions: int
    ticks: tuple[str, ...]


def plot_window(
    records: Sequence[SessionRecord], first: date | None, last: date | None
) -> tuple[date, date]:
    """The days to draw. A chosen `first` is kept, but never before the first day with data
    (`--days 700000` is the whole history, not 2,000 years of empty bars); with none, the
    records' span, widened to MIN_DAYS. Never more than MAX_DAYS, ending at `last`."""
    if not records and (first is None or last is None):
        raise ValueError("nothing to plot")
    days = [r.started.date() for r in records]
    last = last or max(days)
    if first is None:
        first = min(days) if days else last
        if (last - first).days < MIN_DAYS - 1:
            first = last - timedelta(days=MIN_DAYS - 1)
    elif days:
        first = max(first, min(min(days), last))
    if (last - first).days >= MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
    return first, last


ADVISED_PER_DAY = (2, 3)
"""The kneeling stretch source: "Repeat 2 - 3 times daily"."""


@dataclass
class DayTotals:
    """What one calendar day adds up to."""

    day: date
    minutes: float = 0.0
    """Minutes held in the stretches, as the spoken summaries gave them (not the sessions'
    whole length, which the setups, check-ins and pauses fill too)."""
    sessions: int = 0
    completed: int = 0
    counted: int = 0
    """Completed sessions that held the kneeling stretch (its source advises 2 to 3 a day)."""
    before: list[int] = field(default_factory=list)
    after: list[int] = field(default_factory=list)


def daily_totals(
    records: Sequence[SessionRecord], first: date | None = None, last: date | None = None
) -> list[DayTotals]:
    """One entry per calendar day from `first` to `last` (default: the records' span)."""
    if not records and (first is None or last is None):
        return []
    days = [r.started.date() for r in records]
    first = first or min(days)
    last = last or max(days)
    totals = {
        first + timedelta(days=n): DayTotals(first + timedelta(days=n))
        for n in range(0, (last - first).days + 1)
    }
    for record in records:
        totals_for_day = totals.get(record.started.date())
        if totals_for_day is None:
            continue
        totals_for_day.minutes += sum(record.held_s.values()) / 60.0
        totals_for_day.sessions += 1
        totals_for_day.completed += record.status == "completed"
        totals_for_day.counted += record.status == "completed" and record.counts_for is not None
        if record.stiffness_before is not None:
            totals_for_day.before.append(record.stiffness_before)
        if record.stiffness_after is not None:
            totals_for_day.after.append(record.stiffness_after)
    return list(totals.values())


def plot_history(
    records: Sequence[SessionRecord],
    out: Path,
    *,
    first: date | None = None,
    last: date | None = None,
) -> PlotSpan:
    """Write a PNG: bars of minutes held per day; daily mean stiffness before/after on a 0-10
    axis.
    The days drawn are `plot_window(records, first, last)`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    first, last = plot_window(records, first, last)
    days = daily_totals(records, first, last)
    # Midnight datetimes, not dates: date arithmetic would drop the half-day padding.
    x = [datetime.combine(d.day, time()) for d in days]
    minutes = [d.minutes for d in days]
    low, high = ADVISED_PER_DAY
    # The advice is the kneeling stretch's: only its sessions count towards it.
    on_target = [low <= d.counted <= high for d in days]
    advised_shown = any(d.counted for d in days)

    fig, ax = plt.subplots(figsize=(10, 5.2), dpi=120, layout="constrained")
    try:
        colours = ["#2F6FA3" if hit else "#9CC3E4" for hit in on_target]
        ax.bar(x, minutes, width=0.7, color=colours, zorder=2)
        ax.set_ylabel("minutes held in the stretches per day")
        ax.set_ylim(0, max(max(minutes) * 1.15, 2))
        ax.grid(axis="y", alpha=0.3, zorder=0)

        stiff = ax.twinx()
        for attr, label, colour, marker in (
            ("before", "stiffness before", "#D9822B", "o"),
            ("after", "stiffness after", "#3A9A5B", "s"),
        ):
            points = [
                (xi, sum(v) / len(v))
                for xi, d in zip(x, days, strict=True)
                if (v := getattr(d, attr))
            ]
            if points:
                px, py = zip(*points, strict=True)
                stiff.plot(px, py, color=colour, marker=marker, linewidth=2, label=label, zorder=3)
        if not any(d.before or d.after for d in days):
            stiff.text(
                0.5,
                0.93,
                "no stiffness check-ins recorded in this period",
                transform=stiff.transAxes,
                ha="center",
                color="#666666",
                fontsize=9,
            )
        stiff.set_ylim(0, 10.5)
        stiff.set_yticks(range(0, 11, 2))
        stiff.set_ylabel("hip stiffness (0 = none, 10 = worst)")

        if len(days) <= 45:
            # Drawn on the twin axes so the stiffness lines never hide the counts.
            for xi, d, minute in zip(x, days, minutes, strict=True):
                if d.sessions:
                    stiff.annotate(
                        str(d.completed),
                        (mdates.date2num(xi), minute),
                        xycoords=ax.transData,
                        xytext=(0, 3),
                        textcoords="offset points",
                        ha="center",
                        va="bottom",
                        fontsize=8,
                        color="#1F4E79",
                        bbox={
                            "boxstyle": "round,pad=0.15",
                            "fc": "white",
                            "ec": "none",
                            "alpha": 0.8,
                        },
                        zorder=5,
                    )

        # Whole days (or months) only, each label naming its month: "28 Nov", "30 Nov", "2 Dec";
        # an offset label ("Dec") would name one month for an axis that crosses two.
        if len(days) <= 120:
            step = -(-len(days) // MAX_TICKS)
            ax.xaxis.set_major_locator(mdates.DayLocator(bymonthday=range(1, 32, step)))
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%-d %b"))
        else:
            months = len(days) // 30 + 1
            step = -(-months // MAX_TICKS)
            ax.xaxis.set_major_locator(mdates.MonthLocator(interval=step))
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
        pad = timedelta(hours=18)
        ax.set_xlim(x[0] - pad, x[-1] + pad)

        total = sum(d.sessions for d in days)
        span = (
            f"{days[0].day:%d %b %Y}"
            if len(days) == 1
            else (f"{days[0].day:%d %b %Y} to {days[-1].day:%d %b %Y}")
        )
        ax.set_title(
            f"Hip release practice, {span}: {total} session{'s' if total != 1 else ''}\n"
            "number over each bar = sessions completed that day",
            fontsize=11,
        )
        advised_label = f"minutes, day with {low} to {high} kneeling stretch sessions (advised)"
        handles = [
            *([Patch(color="#2F6FA3", label=advised_label)] if advised_shown else []),
            Patch(color="#9CC3E4", label="minutes, other days" if advised_shown else "minutes"),
            *stiff.get_legend_handles_labels()[0],
        ]
        fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=9, frameon=False)
        fig.savefig(out, format="png")
        low_x, high_x = ax.get_xlim()
        ticks = tuple(
            label.get_text()
            for label, value in zip(ax.get_xticklabels(), ax.get_xticks(), strict=True)
            if low_x <= value <= high_x
        )
    finally:
        plt.close(fig)
    _LOGGER.info("plot: %d days, %d sessions written to %s", len(days), total, out)
    return PlotSpan(first, last, total, ticks)
