//! Host shapes: the labels of an Alibaba Cloud API host before `.aliyuncs.com`, as products
//! other than the plain `<code>[.<region>]` ones shape them (`policies/products.json`):
//! `{name}.oss-{region}` for an OSS bucket, `{name}.{region}.log` for a Log Service project,
//! `{region}.fc`, and so on.
//!
//! A shape is a list of label patterns, matched against the host's labels one for one: a
//! literal label, `{region}` (a region label), `{name}` (any label) or a literal prefix
//! followed by `{region}` (`oss-{region}`).

#![deny(clippy::indexing_slicing)]

/// One label of a shape.
#[derive(Clone, Debug, PartialEq, Eq)]
enum LabelPattern {
    Literal(String),
    Region,
    Name,
    /// A literal prefix, then a region: `oss-{region}` as `oss-`.
    PrefixRegion(String),
}

/// A host shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape(Vec<LabelPattern>);

const REGION: &str = "{region}";
const NAME: &str = "{name}";

/// The areas Alibaba Cloud region ids begin with (`cn-hangzhou`, `ap-southeast-1`,
/// `rus-west-1`, …).
const AREAS: &[&str] = &["af", "ap", "cn", "eu", "me", "na", "rus", "sa", "us"];

/// A region label: an area, `-`, then letters, digits and `-` (`cn-hangzhou`,
/// `ap-southeast-1`, `cn-hangzhou-finance`, `cn-shanghai-internal`, `rus-west-1-pop`).
pub fn is_region(label: &str) -> bool {
    let Some((area, rest)) = label.split_once('-') else {
        return false;
    };
    AREAS.contains(&area)
        && !rest.is_empty()
        && !rest.ends_with('-')
        && rest
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Shape {
    /// Parses a shape such as `{name}.oss-{region}`.
    pub fn parse(text: &str) -> Result<Shape, String> {
        let label = |part: &str| -> Result<LabelPattern, String> {
            if part == REGION {
                return Ok(LabelPattern::Region);
            }
            if part == NAME {
                return Ok(LabelPattern::Name);
            }
            if let Some(prefix) = part.strip_suffix(REGION) {
                if !prefix.is_empty() && !prefix.contains('{') {
                    return Ok(LabelPattern::PrefixRegion(prefix.to_string()));
                }
            }
            let literal = !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if literal {
                Ok(LabelPattern::Literal(part.to_string()))
            } else {
                Err(format!("{text:?}: {part:?} is not a label pattern"))
            }
        };
        let labels: Vec<LabelPattern> = text.split('.').map(label).collect::<Result<_, _>>()?;
        if labels.iter().all(|l| *l == LabelPattern::Name) {
            return Err(format!("{text:?} matches any host"));
        }
        Ok(Shape(labels))
    }

    /// The host's labels (before `.aliyuncs.com`) have this shape.
    pub fn matches(&self, labels: &[&str]) -> bool {
        self.0.len() == labels.len()
            && self
                .0
                .iter()
                .zip(labels)
                .all(|(pattern, label)| match pattern {
                    LabelPattern::Literal(literal) => label == literal,
                    LabelPattern::Region => is_region(label),
                    LabelPattern::Name => !label.is_empty(),
                    LabelPattern::PrefixRegion(prefix) => {
                        label.strip_prefix(prefix.as_str()).is_some_and(is_region)
                    }
                })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for yes in [
            "cn-hangzhou",
            "ap-southeast-1",
            "cn-hangzhou-finance",
            "cn-shanghai-internal",
            "rus-west-1-pop",
        ] {
            assert!(is_region(yes), "{yes}");
        }
        for no in [
            "cnhangzhou",
            "c-hangzhou",
            "abcd-x",
            "cn-",
            "cn-Hangzhou",
            "cn-x-",
            "cn",
            "vpc-proxy",
            "ecs-vpc",
            "dbs-api",
        ] {
            assert!(!is_region(no), "{no}");
        }
    }

    #[test]
    fn shapes_match_label_for_label() {
        let oss = Shape::parse("{name}.oss-{region}").unwrap();
        assert!(oss.matches(&["bucket", "oss-cn-hangzhou"]));
        assert!(oss.matches(&["ecs", "oss-cn-hangzhou-internal"]));
        assert!(!oss.matches(&["oss-cn-hangzhou"]));
        assert!(!oss.matches(&["bucket", "oss-accelerate"]));
        assert!(!oss.matches(&["a", "bucket", "oss-cn-hangzhou"]));
        let log = Shape::parse("{name}.{region}.log").unwrap();
        assert!(log.matches(&["ram", "cn-hangzhou", "log"]));
        assert!(!log.matches(&["ram", "hangzhou", "log"]));
        let literal = Shape::parse("oss-accelerate").unwrap();
        assert!(literal.matches(&["oss-accelerate"]));
        assert!(!literal.matches(&["oss-accelerate-overseas"]));
        for bad in [
            "{name}",
            "{name}.{name}",
            "Oss",
            "a..b",
            "{x}.log",
            "{region}x",
        ] {
            assert!(Shape::parse(bad).is_err(), "{bad}");
        }
    }
}
