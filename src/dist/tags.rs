//! Compatibility tags (PEP 425/600/656): one tag, and an interpreter's ordered tag list with
//! the rank lookup used to pick the best wheel (index 0 is the most preferred tag). Which tags
//! an interpreter accepts is computed in `python::tags`.

use std::collections::{HashMap, HashSet};
use std::fmt;

use compact_str::CompactString;

/// One `{python}-{abi}-{platform}` compatibility tag, stored lowercase. The parts are
/// inline strings (up to 24 bytes without a heap allocation, which every common tag part
/// fits): a resolution holds the tags of every wheel on every page it reads, tens of
/// thousands of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag {
    pub python: CompactString,
    pub abi: CompactString,
    pub platform: CompactString,
}

impl Tag {
    /// A tag from its three parts, lowercased like `packaging.tags.Tag`.
    pub fn new(python: &str, abi: &str, platform: &str) -> Tag {
        Tag {
            python: lowercase(python),
            abi: lowercase(abi),
            platform: lowercase(platform),
        }
    }
}

/// `text` lowercased (ASCII, as `packaging` does), without a heap allocation when it is short.
fn lowercase(text: &str) -> CompactString {
    let mut out = CompactString::from(text);
    out.make_ascii_lowercase();
    out
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.python, self.abi, self.platform)
    }
}

/// The tags one interpreter accepts, most preferred first, with a rank lookup.
#[derive(Debug, Clone)]
pub struct Tags {
    tags: Vec<Tag>,
    ranks: HashMap<Tag, usize>,
}

impl Tags {
    /// Tags from an already ordered list (most preferred first); a repeated tag keeps its
    /// first rank.
    pub fn from_list(tags: Vec<Tag>) -> Tags {
        let mut ranks = HashMap::with_capacity(tags.len());
        for (index, tag) in tags.iter().enumerate() {
            ranks.entry(tag.clone()).or_insert(index);
        }
        Tags { tags, ranks }
    }

    /// The tag's position in the preference order (0 is best), or `None` if not accepted.
    pub fn rank(&self, tag: &Tag) -> Option<usize> {
        self.ranks.get(tag).copied()
    }

    /// How many tags are accepted.
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    /// True when no tag is accepted.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// The tags, most preferred first.
    pub fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.tags.iter()
    }

    /// The distinct platform tags in preference order (ending with `any`), for error messages.
    pub fn platform_tags(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for tag in &self.tags {
            if seen.insert(tag.platform.as_str()) {
                out.push(tag.platform.to_string());
            }
        }
        out
    }
}
