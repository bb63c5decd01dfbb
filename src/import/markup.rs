//! CAPEC's XHTML fragments (`<xhtml:p>`, lists, line breaks inside its XML, and as strings in
//! its STIX bundles) as Markdown paragraphs.

/// Node limit for a fragment parsed from a string (a description is a few paragraphs).
const FRAGMENT_NODES_LIMIT: u32 = 100_000;

/// The text of an element with mixed content: paragraphs, list items and line breaks kept,
/// other markup dropped, runs of white space collapsed.
pub(crate) fn element_text(node: roxmltree::Node<'_, '_>) -> String {
    let mut writer = Writer::default();
    writer.walk(node, 0);
    writer.finish()
}

/// A string that may hold XHTML markup (CAPEC's STIX bundles keep some): its text as
/// [`element_text`] gives it; a string that does not parse as markup has its tags dropped.
pub(crate) fn fragment_text(text: &str) -> String {
    if !text.contains('<') {
        return collapse_paragraphs(text);
    }
    let wrapped = format!(
        "<root xmlns:xhtml=\"http://www.w3.org/1999/xhtml\" xmlns=\"http://www.w3.org/1999/xhtml\">{text}</root>"
    );
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: FRAGMENT_NODES_LIMIT,
        ..roxmltree::ParsingOptions::default()
    };
    match roxmltree::Document::parse_with_options(&wrapped, options) {
        Ok(document) => element_text(document.root_element()),
        Err(_) => collapse_paragraphs(&strip_tags(text)),
    }
}

/// Paragraphs (separated by blank lines) with their white space collapsed.
fn collapse_paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| paragraph.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|paragraph| !paragraph.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for character in text.chars() {
        match character {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(character),
            _ => {}
        }
    }
    out
}

/// Builds blocks (paragraphs, list items) of words.
#[derive(Default)]
struct Writer {
    blocks: Vec<String>,
    current: String,
}

/// Deeper markup than this is read as plain text (the recursion is bounded).
const MAX_DEPTH: usize = 32;

impl Writer {
    fn walk(&mut self, node: roxmltree::Node<'_, '_>, depth: usize) {
        for child in node.children() {
            if child.is_text() {
                self.words(child.text().unwrap_or_default());
            } else if child.is_element() {
                let name = child.tag_name().name();
                match name {
                    "br" => self.end_block(),
                    "p" | "div" | "ul" | "ol" | "table" | "tr" | "h1" | "h2" | "h3" | "h4" => {
                        self.end_block();
                        self.descend(child, depth);
                        self.end_block();
                    }
                    "li" => {
                        self.end_block();
                        self.current.push_str("- ");
                        self.descend(child, depth);
                        self.end_block();
                    }
                    _ => self.descend(child, depth),
                }
            }
        }
    }

    fn descend(&mut self, node: roxmltree::Node<'_, '_>, depth: usize) {
        if depth < MAX_DEPTH {
            self.walk(node, depth + 1);
        } else {
            for text in node.descendants().filter(|node| node.is_text()) {
                self.words(text.text().unwrap_or_default());
            }
        }
    }

    fn words(&mut self, text: &str) {
        for word in text.split_whitespace() {
            if !self.current.is_empty() && !self.current.ends_with("- ") {
                self.current.push(' ');
            }
            self.current.push_str(word);
        }
    }

    fn end_block(&mut self) {
        let block = self.current.trim();
        if !block.is_empty() && block != "-" {
            self.blocks.push(block.to_string());
        }
        self.current.clear();
    }

    fn finish(mut self) -> String {
        self.end_block();
        // List items follow each other without blank lines.
        let mut out = String::new();
        for (position, block) in self.blocks.iter().enumerate() {
            if position > 0 {
                let list = block.starts_with("- ") && self.blocks[position - 1].starts_with("- ");
                out.push_str(if list { "\n" } else { "\n\n" });
            }
            out.push_str(block);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_paragraphs_and_lists() {
        assert_eq!(
            fragment_text(
                "\n  <xhtml:p>One   two.</xhtml:p><xhtml:p>Three:</xhtml:p><xhtml:ul><xhtml:li>a</xhtml:li><xhtml:li><xhtml:i>b</xhtml:i> c</xhtml:li></xhtml:ul>"
            ),
            "One two.\n\nThree:\n\n- a\n- b c"
        );
        assert_eq!(fragment_text("plain\n  text"), "plain text");
        assert_eq!(fragment_text("broken <p>markup"), "broken markup");
    }
}
