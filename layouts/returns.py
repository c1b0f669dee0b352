"""The returns page: templates, upload with preview, commit and receipt, the agency's history and due weeks.

Plain data in, components out. Text that came from a file (messages quote cells) is only ever passed as
a string child, which Dash renders as text, never as HTML.
"""

from __future__ import annotations

import datetime as dt

from dash import dcc, html

from layouts import ids
from layouts.components import scroll_box
from maic import dates


def _local(moment: dt.datetime | None, tz: str) -> str:
    if moment is None:
        return ""
    return dates.moment(moment, tz)


def layout(agencies: list[tuple[str, str]], selected: str | None, weeks: list[dt.date], max_bytes: int) -> html.Div:
    week_options = [{"label": dates.week_beginning(w), "value": w.isoformat()} for w in weeks]
    return html.Div(className="returns", children=[
        html.H1("Weekly returns"),
        html.P("Send your agency's figures for a week: download the template, fill it in, upload it, check the "
               "preview, then commit. Counts only: never names or details of people.", className="lede"),
        dcc.Store(id=ids.RETURNS_COMMITTED),
        html.Div(className="controls", children=[
            html.Div(className="control wide", children=[
                html.Label("Agency", htmlFor=ids.RETURNS_AGENCY),
                dcc.Dropdown(id=ids.RETURNS_AGENCY, options=[{"label": n, "value": s} for s, n in agencies],
                             value=selected, clearable=False, disabled=len(agencies) <= 1),
            ]),
            html.Div(className="control", children=[
                html.Label("Template week", htmlFor=ids.RETURNS_WEEK),
                dcc.Dropdown(id=ids.RETURNS_WEEK, options=week_options, clearable=False,
                             value=week_options[0]["value"] if week_options else None),
            ]),
            html.Button("Download XLSX template", id=ids.RETURNS_TEMPLATE_XLSX, className="button secondary"),
            html.Button("Download CSV template", id=ids.RETURNS_TEMPLATE_CSV, className="button secondary"),
            dcc.Download(id=ids.RETURNS_DOWNLOAD),
            dcc.Download(id=ids.RETURNS_REPORT_DOWNLOAD),
        ]),
        html.Section(className="card", **{"aria-labelledby": "upload-heading"}, children=[
            html.H2("Upload a return", id="upload-heading"),
            dcc.Upload(id=ids.RETURNS_UPLOAD, className="upload", max_size=max_bytes, multiple=False,
                       accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       children=html.Div(["Drag a CSV or XLSX file here, or ", html.Span("choose a file",
                                                                                         className="link-like")])),
            html.P(f"Largest file: {max_bytes / 1024 / 1024:.0f} MB. Nothing is written until you press Commit.",
                   className="muted"),
            dcc.Loading(type="default", children=html.Div(id=ids.RETURNS_PREVIEW, **{"aria-live": "polite"})),
            html.Div(className="actions", children=[
                html.Button("Commit", id=ids.RETURNS_COMMIT, className="button", disabled=True),
                html.Button("Cancel", id=ids.RETURNS_CANCEL, className="button secondary"),
            ]),
            dcc.Loading(type="default", children=html.Div(id=ids.RETURNS_RECEIPT, **{"aria-live": "polite"})),
        ]),
        html.Div(id=ids.RETURNS_HISTORY),
    ])


def _issue_table(caption: str, issues: list[tuple[str, str, str]], total: int, css: str) -> html.Table:
    if total > len(issues):
        caption += f": the first {len(issues):,} of {total:,} (every one is in the CSV)"
    return scroll_box(caption, html.Table(className=f"issues {css}", children=[
        html.Caption(caption),
        html.Thead(html.Tr([html.Th("Row"), html.Th("Column"), html.Th("Problem")])),
        html.Tbody([html.Tr([html.Td(r), html.Td(c), html.Td(m)]) for r, c, m in issues]),
    ]))


def preview_children(preview: dict | None) -> list:
    """preview: filename, sha256, size, rows, weeks, errors/warnings [(row, column, message)], totals, duplicate_of."""
    if not preview:
        return []
    out: list = [html.H3(f"Preview of {preview['filename']}")]
    if preview.get("message"):
        return [*out, html.Div(preview["message"], className="alert")]
    errors, warnings = preview["errors"], preview["warnings"]
    errors_total = preview.get("errors_total", len(errors))
    warnings_total = preview.get("warnings_total", len(warnings))
    if errors:
        out.append(html.Div(className="alert", role="status", children=[
            html.Strong("This file cannot be committed: "),
            f"{errors_total:,} problem{'s' if errors_total != 1 else ''} to fix. Nothing has been written. Fix them "
            "and upload the file again."]))
        out.append(_issue_table("Problems (every one must be fixed)", errors, errors_total, "errors"))
    else:
        weeks = ", ".join(preview["weeks"])
        out.append(html.Div(className="alert alert-info", role="status", children=[
            html.Strong("Ready to commit: "),
            f"{preview['rows']:,} figures for week beginning {weeks}. Check the totals, then press Commit."]))
    if preview.get("duplicate_of"):
        out.append(html.P(f"These exact bytes were already received as return {preview['duplicate_of']}; "
                          "committing again changes nothing.", className="muted"))
    if warnings:
        out.append(_issue_table("Warnings (check them; they do not stop the commit)", warnings, warnings_total,
                                "warnings"))
    if errors or warnings:
        # Above the tables, beside the summary: the one place a long list does not push it off the screen.
        out.insert(2, html.P(html.Button(f"Download every problem ({errors_total + warnings_total:,}) as CSV",
                                         id={"type": ids.RETURNS_REPORT, "n": 0}, className="button secondary small")))
    if preview["totals"]:
        out.append(scroll_box("Totals this return would change", html.Table(className="totals", children=[
            html.Caption("Totals for your agency that this return would change"),
            html.Thead(html.Tr([html.Th("Week"), html.Th("Measure"), html.Th("Now", className="num"),
                                html.Th("After commit", className="num"), html.Th("Change", className="num")])),
            html.Tbody([html.Tr([html.Td(week), html.Td(label), html.Td(now, className="num"),
                                 html.Td(after, className="num"), html.Td(change, className="num")])
                        for week, label, now, after, change in preview["totals"]]),
        ])))
    out.append(html.P(f"sha256 {preview['sha256']} · {preview['size']:,} bytes", className="muted small"))
    return out


def receipt_children(receipt: dict | None) -> list:
    if not receipt:
        return []
    if receipt.get("cancelled"):
        return [html.Div("Cancelled: nothing was written.", className="alert alert-info")]
    if receipt.get("duplicate"):
        head = f"Already received as return {receipt['return_id']}: nothing changed."
    else:
        head = (f"Committed: return {receipt['return_id']}, {receipt['rows']:,} figures for week beginning "
                f"{', '.join(receipt['weeks'])}.")
    return [html.Div(className="receipt", role="status", id="returns-receipt-box", children=[
        html.H3("Receipt"),
        html.P(head),
        html.Dl([html.Dt("Return id"), html.Dd(str(receipt["return_id"]), id="receipt-return-id"),
                 html.Dt("sha256"), html.Dd(receipt["sha256"], className="mono", id="receipt-sha256"),
                 html.Dt("Received"), html.Dd(receipt["received"])]),
        html.P(f"{receipt['warnings']} warning(s) were noted with the return." if receipt.get("warnings") else ""),
    ])]


def history_children(agency_name: str, returns: list[tuple], due: list[tuple[str, str, str, str]]) -> list:
    """returns: (id, weeks, status, source, who, when, rows, filename); due: (week, deadline, status, received)."""
    return [
        html.Section(className="card", children=[
            html.H2(f"Weeks due for {agency_name}"),
            scroll_box("Weeks due", html.Table(className="due", children=[
                html.Thead(html.Tr([html.Th("Week beginning"), html.Th("Due by"), html.Th("Status"),
                                    html.Th("First received")])),
                html.Tbody([html.Tr(className="due-" + status.split()[0], children=[
                    html.Td(week), html.Td(deadline), html.Td(status), html.Td(received)])
                    for week, deadline, status, received in due]),
            ])) if due else html.P("No week is due yet.", className="muted"),
        ]),
        html.Section(className="card", children=[
            html.H2(f"Returns received from {agency_name}"),
            scroll_box("Returns received", html.Table(className="history", children=[
                html.Thead(html.Tr([html.Th("Return"), html.Th("Week(s)"), html.Th("Status"), html.Th("How"),
                                    html.Th("Who"), html.Th("When"), html.Th("Figures", className="num"),
                                    html.Th("File")])),
                html.Tbody([html.Tr([html.Td(str(rid)), html.Td(weeks), html.Td(status), html.Td(source),
                                     html.Td(who), html.Td(when), html.Td(f"{rows:,}", className="num"),
                                     html.Td(filename)])
                            for rid, weeks, status, source, who, when, rows, filename in returns]),
            ])) if returns else html.P("No returns yet.", className="muted"),
        ]),
    ]


def format_local(moment: dt.datetime | None, tz: str) -> str:
    return _local(moment, tz)
