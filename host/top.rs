//! `porthost ports --connect PATH` and `porthost top --connect PATH`: a
//! running host's ports through its control socket (`porthost::ControlClient`).
#![deny(unsafe_code)]

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use porthost::recon::Attr;
use porthost::{ControlClient, PortRow};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};

fn connect(path: &Path) -> anyhow::Result<ControlClient> {
    ControlClient::connect(path).with_context(|| format!("connecting to the control socket {}", path.display()))
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `porthost ports`: one table (or JSON array) of the host's ports.
pub fn ports(path: &Path, json: bool, sort: Option<&str>) -> anyhow::Result<ExitCode> {
    let mut rows = connect(path)?.ports()?;
    match sort {
        Some(s) => {
            let attr = Attr::from_name(s).with_context(|| format!("{s} is not a counter"))?;
            rows.sort_by_key(|r| std::cmp::Reverse((r.counters.get(attr), r.id)));
        }
        None => rows.sort_by_key(|r| r.id),
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        let items: Vec<String> = rows
            .iter()
            .map(|r| {
                let c = &r.counters;
                format!(
                    "{{\"port\":\"#Port<0.{}>\",\"id\":{},\"kind\":{},\"name\":{},\"input\":{},\"output\":{},\"commands\":{},\"messages\":{},\"queue_size\":{},\"memory\":{}}}",
                    r.id, r.id, json_str(&r.kind), json_str(&r.name), c.input, c.output, c.commands, c.messages, c.queue_size, c.memory
                )
            })
            .collect();
        writeln!(out, "[{}]", items.join(",\n "))?;
    } else {
        writeln!(out, "{}", header())?;
        for r in &rows {
            writeln!(out, "{}", row_text(r, None))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn header() -> String {
    format!(
        "{:<14} {:<8} {:>10} {:>10} {:>8} {:>8} {:>8} {:>9}  {}",
        "PORT", "KIND", "INPUT", "OUTPUT", "CMDS", "MSGS", "QUEUE", "MEMORY", "NAME"
    )
}

fn row_text(r: &PortRow, _rate: Option<f64>) -> String {
    let c = &r.counters;
    format!(
        "{:<14} {:<8} {:>10} {:>10} {:>8} {:>8} {:>8} {:>9}  {}",
        format!("#Port<0.{}>", r.id),
        r.kind,
        c.input,
        c.output,
        c.commands,
        c.messages,
        c.queue_size,
        c.memory,
        r.name
    )
}

/// What `top` shows and how.
struct View {
    attr: Attr,
    rate: bool,
    rows: Vec<(PortRow, f64)>,
    table: TableState,
    detail: Option<(u64, String)>,
    error: Option<String>,
}

/// Splits a `~w` property list into its top-level elements, one per line.
fn split_props(t: &str) -> Vec<String> {
    let inner = t.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(t);
    let (mut out, mut cur, mut depth, mut quoted) = (Vec::new(), String::new(), 0i32, false);
    for c in inner.chars() {
        match c {
            '"' => quoted = !quoted,
            '{' | '[' | '<' if !quoted => depth += 1,
            '}' | ']' | '>' if !quoted => depth -= 1,
            ',' if depth == 0 && !quoted => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `porthost top`: refreshes every `interval`; keys: `s`/Tab next counter,
/// `r` rate or total, arrows select, Enter the port's full info, Esc back,
/// `q` quits.
pub fn top(path: &Path, interval: Duration) -> anyhow::Result<ExitCode> {
    let mut client = connect(path)?;
    // Fail before taking the terminal if the host refuses us.
    let first = client.ports()?;
    let mut terminal = ratatui::init();
    let result = run(&mut terminal, &mut client, first, interval);
    ratatui::restore();
    result.map(|()| ExitCode::SUCCESS)
}

fn run(
    terminal: &mut ratatui::DefaultTerminal,
    client: &mut ControlClient,
    first: Vec<PortRow>,
    interval: Duration,
) -> anyhow::Result<()> {
    let mut view = View { attr: Attr::Io, rate: true, rows: Vec::new(), table: TableState::default(), detail: None, error: None };
    view.table.select(Some(0));
    let mut prev: HashMap<u64, PortRow> = HashMap::new();
    let mut sampled = false;
    let mut prev_at = Instant::now();
    let mut pending = Some(first);
    let mut next_refresh = Instant::now();
    loop {
        if Instant::now() >= next_refresh {
            let rows = match pending.take() {
                Some(r) => Ok(r),
                None => client.ports(),
            };
            match rows {
                Ok(rows) => {
                    let dt = prev_at.elapsed().as_secs_f64().max(1e-3);
                    // A port first seen after the first sample counts
                    // from zero (as in port_window); on the first sample
                    // (or after a change of counter) every rate is 0.
                    let first_sample = !std::mem::replace(&mut sampled, true);
                    view.rows = rows
                        .into_iter()
                        .map(|r| {
                            let now = r.counters.get(view.attr) as f64;
                            let rate = match prev.get(&r.id) {
                                _ if first_sample => 0.0,
                                Some(p) => (now - p.counters.get(view.attr) as f64) / dt,
                                None => now / dt,
                            };
                            (r, rate)
                        })
                        .collect();
                    prev = view.rows.iter().map(|(r, _)| (r.id, r.clone())).collect();
                    prev_at = Instant::now();
                    view.error = None;
                }
                Err(e) => view.error = Some(e.to_string()),
            }
            sort(&mut view);
            if let Some((id, _)) = &view.detail {
                let id = *id;
                view.detail = Some((id, client.info(id).ok().flatten().unwrap_or_else(|| "closed".into())));
            }
            next_refresh = Instant::now() + interval;
        }
        terminal.draw(|f| draw(f, &mut view))?;
        let wait = next_refresh.saturating_duration_since(Instant::now());
        if !event::poll(wait)? {
            continue;
        }
        let Event::Key(k) = event::read()? else { continue };
        if k.kind != KeyEventKind::Press {
            continue;
        }
        let n = view.rows.len();
        let sel = view.table.selected().unwrap_or(0);
        match k.code {
            KeyCode::Char('q') => return Ok(()),
            KeyCode::Char('s') | KeyCode::Tab => {
                let i = Attr::ALL.iter().position(|a| *a == view.attr).unwrap_or(0);
                view.attr = Attr::ALL[(i + 1) % Attr::ALL.len()];
                prev.clear();
                sampled = false;
                next_refresh = Instant::now();
            }
            KeyCode::Char('r') => {
                view.rate = !view.rate;
                sort(&mut view);
            }
            KeyCode::Down | KeyCode::Char('j') => view.table.select(Some((sel + 1).min(n.saturating_sub(1)))),
            KeyCode::Up | KeyCode::Char('k') => view.table.select(Some(sel.saturating_sub(1))),
            KeyCode::Enter => {
                if let Some((r, _)) = view.rows.get(sel) {
                    let id = r.id;
                    view.detail = Some((id, client.info(id).ok().flatten().unwrap_or_else(|| "closed".into())));
                }
            }
            KeyCode::Esc => view.detail = None,
            _ => {}
        }
    }
}

fn sort(view: &mut View) {
    let (attr, rate) = (view.attr, view.rate);
    view.rows.sort_by(|(a, ra), (b, rb)| {
        let (ka, kb) = if rate { (*ra, *rb) } else { (a.counters.get(attr) as f64, b.counters.get(attr) as f64) };
        kb.total_cmp(&ka).then(b.id.cmp(&a.id))
    });
}

fn draw(f: &mut ratatui::Frame, view: &mut View) {
    let [head, body, foot] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(3), Constraint::Length(1)]).areas(f.area());
    let title = format!(
        "porthost top — {} ports — sorted by {} {}",
        view.rows.len(),
        view.attr.name(),
        if view.rate { "rate (/s)" } else { "total" }
    );
    f.render_widget(Paragraph::new(title).style(Style::default().add_modifier(Modifier::BOLD)), head);
    let (table_area, detail_area) = match view.detail {
        Some(_) => {
            let [a, b] = Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
            (a, Some(b))
        }
        None => (body, None),
    };
    let rate_head = format!("{}/s", view.attr.name().to_uppercase());
    let header = Row::new(
        ["PORT", "KIND", "INPUT", "OUTPUT", "CMDS", "MSGS", "QUEUE", "MEMORY", rate_head.as_str(), "NAME"]
            .into_iter()
            .map(|h| Cell::from(h.to_owned())),
    )
    .style(Style::default().add_modifier(Modifier::REVERSED));
    let rows = view.rows.iter().map(|(r, rate)| {
        let c = &r.counters;
        Row::new(vec![
            format!("#Port<0.{}>", r.id),
            r.kind.clone(),
            c.input.to_string(),
            c.output.to_string(),
            c.commands.to_string(),
            c.messages.to_string(),
            c.queue_size.to_string(),
            c.memory.to_string(),
            format!("{rate:.0}"),
            r.name.clone(),
        ])
    });
    let widths = [
        Constraint::Length(15),
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Min(8),
    ];
    let table = Table::new(rows, widths).header(header).row_highlight_style(Style::default().add_modifier(Modifier::BOLD)).highlight_symbol(">");
    f.render_stateful_widget(table, table_area, &mut view.table);
    if let (Some(area), Some((id, text))) = (detail_area, &view.detail) {
        let lines: Vec<Line> = split_props(text).into_iter().map(Line::from).collect();
        let block = Block::default().borders(Borders::ALL).title(format!("#Port<0.{id}> (Esc to close)"));
        f.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
    }
    let help = match &view.error {
        Some(e) => format!("error: {e}"),
        None => "q quit  s/Tab next counter  r rate/total  ↑↓ select  Enter port info  Esc close".to_owned(),
    };
    f.render_widget(Paragraph::new(help), foot);
}

#[cfg(test)]
mod tests {
    #[test]
    fn split_props_at_top_level_only() {
        let got = super::split_props("[{id,#Port<0.5>},{name,\"a,b\"},{counters,[{input,1},{output,2}]}]");
        assert_eq!(got, ["{id,#Port<0.5>}", "{name,\"a,b\"}", "{counters,[{input,1},{output,2}]}"]);
    }
}
