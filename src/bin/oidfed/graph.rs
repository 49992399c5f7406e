//! Every path tried as a picture: Graphviz DOT or Mermaid. An edge goes from an entity to
//! the superior it named in `authority_hints`: bold green on the chosen chain, green on other
//! valid chains, red and dashed (labelled with the reason) where a path failed, grey on the
//! hops of a failed path below its failure.

use std::collections::BTreeMap;

use oidfed::{EntityId, Error, PathAttempt, ResolvedEntity};

use crate::output::attempts_of;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Style {
    FailedBelow,
    Failed,
    Valid,
    Chosen,
}

/// Entities and hops of every path tried.
pub struct Picture {
    subject: String,
    nodes: Vec<String>,
    edges: BTreeMap<(String, String), (Style, String)>,
    anchors: Vec<String>,
}

fn short(reason: &str) -> String {
    let first = reason.lines().next().unwrap_or_default();
    let mut s: String = first.chars().take(70).collect();
    if first.chars().count() > 70 {
        s.push('…');
    }
    s
}

/// `spec_code · Rule: detail`, short.
fn label(e: &Error) -> String {
    let what = match (e.rule(), e.statement_error()) {
        (Some(r), Some(s)) => format!("{r:?}: {}", s.detail),
        (Some(r), None) => match e {
            Error::NoTrustChain { attempts, .. } if attempts.len() == 1 => {
                return label(&attempts[0].error);
            }
            _ => format!("{r:?}: {e}"),
        },
        _ => e.to_string(),
    };
    format!("{} · {}", e.spec_code(), short(&what))
}

impl Picture {
    fn new(subject: &str) -> Self {
        Self {
            subject: subject.to_string(),
            nodes: vec![subject.to_string()],
            edges: BTreeMap::new(),
            anchors: Vec::new(),
        }
    }

    fn node(&mut self, id: &str) {
        if !self.nodes.iter().any(|n| n == id) {
            self.nodes.push(id.to_string());
        }
    }

    fn edge(&mut self, from: &str, to: &str, style: Style, label: String) {
        self.node(from);
        self.node(to);
        let e = self
            .edges
            .entry((from.to_string(), to.to_string()))
            .or_insert((style, label.clone()));
        if style > e.0 {
            *e = (style, label);
        }
    }

    fn path(&mut self, path: &[EntityId], style: Style) {
        for w in path.windows(2) {
            self.edge(w[0].as_str(), w[1].as_str(), style, String::new());
        }
        if let Some(last) = path.last() {
            self.node(last.as_str());
        }
    }

    fn failed(&mut self, a: &PathAttempt) {
        let n = a.path.len();
        if n >= 2 {
            self.path(&a.path[..n - 1], Style::FailedBelow);
            let reason = label(&a.error);
            self.edge(
                a.path[n - 2].as_str(),
                a.path[n - 1].as_str(),
                Style::Failed,
                reason,
            );
        } else if let Some(only) = a.path.first() {
            self.node(only.as_str());
        }
    }

    /// The picture of a successful resolution.
    pub fn of_resolved(r: &ResolvedEntity) -> Self {
        let mut p = Self::new(r.entity_id().as_str());
        p.path(&r.chain().path(), Style::Chosen);
        p.anchors.push(r.trust_anchor().to_string());
        for alt in r.alternatives() {
            p.path(&alt.path(), Style::Valid);
            p.anchors.push(alt.anchor().to_string());
        }
        for a in r.failed_paths() {
            p.failed(a);
        }
        p
    }

    /// The picture of a failed resolution.
    pub fn of_error(subject: &str, e: &Error) -> Self {
        let mut p = Self::new(subject);
        for a in attempts_of(e) {
            p.failed(a);
        }
        if attempts_of(e).is_empty() {
            p.edges.insert(
                (subject.to_string(), subject.to_string()),
                (Style::Failed, label(e)),
            );
        }
        p
    }

    fn index(&self, id: &str) -> usize {
        self.nodes.iter().position(|n| n == id).unwrap_or(0)
    }

    /// Graphviz DOT.
    pub fn dot(&self) -> String {
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let mut out = String::from(
            "digraph oidfed {\n  rankdir=BT;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
        );
        for (i, n) in self.nodes.iter().enumerate() {
            let extra = if *n == self.subject {
                ", penwidth=2"
            } else if self.anchors.contains(n) {
                ", peripheries=2"
            } else {
                ""
            };
            out.push_str(&format!("  n{i} [label=\"{}\"{extra}];\n", esc(n)));
        }
        for ((from, to), (style, label)) in &self.edges {
            let attrs = match style {
                Style::Chosen => "color=darkgreen, penwidth=2.5".to_string(),
                Style::Valid => "color=green3".to_string(),
                Style::FailedBelow => "color=gray55".to_string(),
                Style::Failed => format!("color=red, style=dashed, label=\"{}\"", esc(label)),
            };
            out.push_str(&format!(
                "  n{} -> n{} [{attrs}];\n",
                self.index(from),
                self.index(to)
            ));
        }
        out.push_str("}\n");
        out
    }

    /// Mermaid (`graph BT`).
    pub fn mermaid(&self) -> String {
        let esc = |s: &str| s.replace('"', "#quot;").replace('|', "#124;");
        let mut out = String::from("graph BT\n");
        for (i, n) in self.nodes.iter().enumerate() {
            out.push_str(&format!("  n{i}[\"{}\"]\n", esc(n)));
        }
        let mut styles = Vec::new();
        for (k, ((from, to), (style, label))) in self.edges.iter().enumerate() {
            let (a, b) = (self.index(from), self.index(to));
            let line = match style {
                Style::Chosen => format!("  n{a} ==>|chosen| n{b}\n"),
                Style::Valid => format!("  n{a} -->|valid| n{b}\n"),
                Style::FailedBelow => format!("  n{a} --> n{b}\n"),
                Style::Failed => format!("  n{a} -.->|\"✘ {}\"| n{b}\n", esc(label)),
            };
            out.push_str(&line);
            let color = match style {
                Style::Chosen => "stroke:darkgreen,stroke-width:3px",
                Style::Valid => "stroke:green",
                Style::FailedBelow => "stroke:gray",
                Style::Failed => "stroke:red",
            };
            styles.push(format!("  linkStyle {k} {color}\n"));
        }
        for s in styles {
            out.push_str(&s);
        }
        out
    }
}
