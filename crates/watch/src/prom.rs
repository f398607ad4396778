//! A small reader for the Prometheus/OpenMetrics text the services expose on /metrics: samples
//! with their labels, enough to pick gauges, sum counters and average histograms. Lines it cannot
//! read are counted, never fatal.

/// One sample line: `name{k="v",...} value [timestamp]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A parsed exposition.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Exposition {
    pub samples: Vec<Sample>,
    /// Lines that were neither comments nor readable samples.
    pub unreadable: usize,
}

impl Exposition {
    pub fn parse(text: &str) -> Exposition {
        let mut out = Exposition::default();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_line(line) {
                Some(s) => out.samples.push(s),
                None => out.unreadable += 1,
            }
        }
        out
    }

    /// The first sample called `name` (a gauge without labels, typically).
    pub fn first(&self, name: &str) -> Option<f64> {
        self.samples.iter().find(|s| s.name == name).map(|s| s.value)
    }

    /// The sum over every label set of `name`; `None` when there is no such sample.
    pub fn sum(&self, name: &str) -> Option<f64> {
        let mut found = false;
        let total = self
            .samples
            .iter()
            .filter(|s| s.name == name)
            .inspect(|_| found = true)
            .map(|s| s.value)
            .sum();
        found.then_some(total)
    }

    /// `(sum, count)` of a histogram, over every label set.
    pub fn histogram(&self, name: &str) -> Option<(f64, f64)> {
        Some((
            self.sum(&format!("{name}_sum"))?,
            self.sum(&format!("{name}_count"))?,
        ))
    }

    /// Every sample of `name` with the value of label `key` (counters by reason, say).
    pub fn by_label(&self, name: &str, key: &str) -> Vec<(String, f64)> {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .map(|s| (s.label(key).unwrap_or("").to_string(), s.value))
            .collect()
    }
}

fn parse_line(line: &str) -> Option<Sample> {
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let name = &line[..name_end];
    if name.is_empty() {
        return None;
    }
    let (labels, rest) = if line[name_end..].starts_with('{') {
        parse_labels(&line[name_end + 1..])?
    } else {
        (Vec::new(), &line[name_end..])
    };
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// Labels after the opening brace; returns them and the text after the closing brace.
fn parse_labels(mut s: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start_matches([' ', ',']);
        if let Some(rest) = s.strip_prefix('}') {
            return Some((labels, rest));
        }
        let eq = s.find('=')?;
        let key = s[..eq].trim().to_string();
        let after = s[eq + 1..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break i,
                c => value.push(c),
            }
        };
        labels.push((key, value));
        s = &after[end + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_gauges_counters_histograms_and_quoted_labels() {
        let text = "# HELP x y\n# TYPE aggregator_anchor_epoch gauge\naggregator_anchor_epoch 3\n\
            inference_fallback_predictions_total{reason=\"stale_features\"} 5\n\
            inference_fallback_predictions_total{reason=\"no_model\"} 2\n\
            odd{a=\"x, \\\"y\\\" }\",b=\"2\"} 1.5 1700000000\n\
            model_directional_accuracy_sum 1.5\nmodel_directional_accuracy_count 3\n\
            h_bucket{le=\"+Inf\"} +Inf\nnot a sample\n# EOF\n";
        let e = Exposition::parse(text);
        assert_eq!(e.first("aggregator_anchor_epoch"), Some(3.0));
        assert_eq!(e.sum("inference_fallback_predictions_total"), Some(7.0));
        assert_eq!(e.sum("missing"), None);
        assert_eq!(e.histogram("model_directional_accuracy"), Some((1.5, 3.0)));
        let odd = e.samples.iter().find(|s| s.name == "odd").expect("odd parsed");
        assert_eq!(odd.label("a"), Some("x, \"y\" }"));
        assert_eq!(odd.label("b"), Some("2"));
        assert_eq!(e.first("h_bucket"), Some(f64::INFINITY));
        assert_eq!(e.unreadable, 1);
        assert_eq!(
            e.by_label("inference_fallback_predictions_total", "reason"),
            vec![("stale_features".into(), 5.0), ("no_model".into(), 2.0)]
        );
    }

    #[test]
    fn garbage_is_counted_not_fatal() {
        let e = Exposition::parse("x{a=\"unterminated 1\n{} 2\nname{a=1} 3\ny 1e400x\n");
        assert!(e.samples.is_empty());
        assert_eq!(e.unreadable, 4);
    }
}
