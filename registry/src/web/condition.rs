//! CEL conditions with their syntax highlighted on the server: one pass over the text, each
//! token in a `span` with a class the stylesheet colours. A lexer only (no parse, no
//! recursion), so any text from a bundle costs time linear in its length; what it does not
//! recognise stays plain text. maud escapes every piece.

use maud::{Markup, html};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Keyword,
    String,
    Number,
    Operator,
    Identifier,
    Plain,
}

impl Kind {
    fn class(self) -> Option<&'static str> {
        match self {
            Kind::Keyword => Some("keyword"),
            Kind::String => Some("string"),
            Kind::Number => Some("number"),
            Kind::Operator => Some("operator"),
            Kind::Identifier => Some("identifier"),
            Kind::Plain => None,
        }
    }
}

const KEYWORDS: [&str; 4] = ["true", "false", "null", "in"];
const OPERATORS: [&str; 16] = [
    "==", "!=", "<=", ">=", "&&", "||", "!", "<", ">", "+", "-", "*", "/", "%", "?", ":",
];

/// `condition` as `<code class="cel">` with a `span` per token.
pub fn highlight(condition: &str) -> Markup {
    let tokens = tokens(condition);
    html! {
        code.cel {
            @for (kind, text) in tokens {
                @match kind.class() {
                    Some(class) => span class=(class) { (text) },
                    None => (text),
                }
            }
        }
    }
}

/// The tokens of `text`, which concatenate back to it.
fn tokens(text: &str) -> Vec<(Kind, &str)> {
    let mut tokens: Vec<(Kind, &str)> = Vec::new();
    let mut rest = text;
    while let Some(first) = rest.chars().next() {
        let length = if first == '"' || first == '\'' {
            string_length(rest, first)
        } else if first.is_ascii_digit() {
            rest.find(|character: char| !(character.is_ascii_alphanumeric() || character == '.'))
                .unwrap_or(rest.len())
        } else if first.is_alphabetic() || first == '_' {
            rest.find(|character: char| !(character.is_alphanumeric() || character == '_'))
                .unwrap_or(rest.len())
        } else if let Some(operator) = OPERATORS
            .iter()
            .find(|operator| rest.starts_with(**operator))
        {
            operator.len()
        } else {
            first.len_utf8()
        };
        let (token, after) = rest.split_at(length);
        let kind = if first == '"' || first == '\'' {
            Kind::String
        } else if first.is_ascii_digit() {
            Kind::Number
        } else if first.is_alphabetic() || first == '_' {
            if KEYWORDS.contains(&token) {
                Kind::Keyword
            } else {
                Kind::Identifier
            }
        } else if OPERATORS.contains(&token) {
            Kind::Operator
        } else {
            Kind::Plain
        };
        match tokens.last_mut() {
            // Runs of plain characters (spaces, brackets) make one piece, not one each.
            Some((Kind::Plain, previous)) if kind == Kind::Plain => {
                let start = text.len() - rest.len() - previous.len();
                *previous = &text[start..text.len() - after.len()];
            }
            _ => tokens.push((kind, token)),
        }
        rest = after;
    }
    tokens
}

/// The length of the quoted string at the start of `text`, closing quote included (the rest of
/// the text if it is never closed); a backslash escapes the next character.
fn string_length(text: &str, quote: char) -> usize {
    let mut escaped = false;
    for (offset, character) in text.char_indices().skip(1) {
        if escaped {
            escaped = false;
        } else if character == '\\' {
            escaped = true;
        } else if character == quote {
            return offset + character.len_utf8();
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(condition: &str, expected: &str) {
        assert_eq!(highlight(condition).into_string(), expected);
    }

    #[test]
    fn tokens_concatenate_back_to_the_text() {
        for text in [
            "self.public && !self.tls",
            "'unclosed \\' string",
            "x in [\"a\", 'b'] || y >= 2.5",
            "ünïcode_ident == \"é\"",
            "",
            "((((",
        ] {
            let joined: String = tokens(text).iter().map(|(_, token)| *token).collect();
            assert_eq!(joined, text);
        }
    }

    #[test]
    fn each_kind_has_its_class() {
        check(
            "self.public && x in ['a'] || n >= 2",
            r#"<code class="cel"><span class="identifier">self</span>.<span class="identifier">public</span> <span class="operator">&amp;&amp;</span> <span class="identifier">x</span> <span class="keyword">in</span> [<span class="string">'a'</span>] <span class="operator">||</span> <span class="identifier">n</span> <span class="operator">&gt;=</span> <span class="number">2</span></code>"#,
        );
    }

    #[test]
    fn markup_in_a_condition_is_escaped() {
        check(
            "\"</code><script>alert(1)</script>\"",
            r#"<code class="cel"><span class="string">&quot;&lt;/code&gt;&lt;script&gt;alert(1)&lt;/script&gt;&quot;</span></code>"#,
        );
        check(
            "<img onerror=x>",
            r#"<code class="cel"><span class="operator">&lt;</span><span class="identifier">img</span> <span class="identifier">onerror</span>=<span class="identifier">x</span><span class="operator">&gt;</span></code>"#,
        );
    }
}
