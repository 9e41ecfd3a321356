//! The Terraform source as the checks read it: resources by type and name, variables'
//! defaults and locals, and values resolved as far as the source says — a literal, a
//! variable with a default, a local, a reference to another resource — and no further:
//! what cannot be resolved stays [`Value::Unknown`] with the reason.

use std::collections::BTreeMap;

use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl_edit::structure::{Block, BlockLabel, Body};
use hcl_edit::Span;

/// A place in the source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

/// One parsed file.
pub struct Source {
    pub path: String,
    text: String,
    pub body: Body,
}

impl Source {
    pub fn parse(path: &str, text: &str) -> Result<Source, (Location, String)> {
        hcl_edit::parser::parse_body(text).map(|body| Source { path: path.to_owned(), text: text.to_owned(), body }).map_err(|error| {
            let location = Location { file: path.to_owned(), line: error.location().line(), column: error.location().column() };
            (location, error.message().to_owned())
        })
    }

    /// The line and column (1-based) of a byte offset.
    pub fn locate(&self, offset: usize) -> Location {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rfind('\n').map_or(before.chars().count(), |newline| before[newline + 1..].chars().count()) + 1;
        Location { file: self.path.clone(), line, column }
    }
}

/// A resolved value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Number(f64),
    Bool(bool),
    List(Vec<Value>),
    /// `TYPE.NAME[.ATTR]`: another resource.
    Ref {
        kind: String,
        name: String,
    },
    /// Not resolvable from the source; why.
    Unknown(String),
}

impl Value {
    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }

    pub fn number(&self) -> Option<i64> {
        match self {
            Value::Number(number) => Some(*number as i64),
            Value::Text(text) => text.parse().ok(),
            _ => None,
        }
    }

    pub fn list(&self) -> Vec<Value> {
        match self {
            Value::List(items) => items.clone(),
            Value::Unknown(_) => vec![self.clone()],
            other => vec![other.clone()],
        }
    }

    pub fn reference(&self) -> Option<(&str, &str)> {
        match self {
            Value::Ref { kind, name } => Some((kind, name)),
            _ => None,
        }
    }
}

/// A resource, or a nested block of one.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    pub source: &'a Source,
    pub block: &'a Block,
}

impl<'a> Node<'a> {
    pub fn location(&self) -> Location {
        self.source.locate(self.block.span().map_or(0, |span| span.start))
    }

    /// Where attribute `key` is written, else the block.
    pub fn location_of(&self, key: &str) -> Location {
        match self.block.body.get_attribute(key).and_then(|attribute| attribute.span()) {
            Some(span) => self.source.locate(span.start),
            None => self.location(),
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.block.body.has_attribute(key)
    }

    pub fn blocks(&self, ident: &'a str) -> Vec<Node<'a>> {
        self.block.body.get_blocks(ident).map(|block| Node { source: self.source, block }).collect()
    }
}

/// Every resource, variable and local of a directory.
pub struct Model<'a> {
    pub resources: BTreeMap<(String, String), Node<'a>>,
    variables: BTreeMap<String, Option<&'a Expression>>,
    locals: BTreeMap<String, &'a Expression>,
}

fn label(label: &BlockLabel) -> String {
    match label {
        BlockLabel::Ident(ident) => ident.as_str().to_owned(),
        BlockLabel::String(text) => text.as_str().to_owned(),
    }
}

impl<'a> Model<'a> {
    pub fn new(sources: &'a [Source]) -> Model<'a> {
        let mut model = Model { resources: BTreeMap::new(), variables: BTreeMap::new(), locals: BTreeMap::new() };
        for source in sources {
            for block in source.body.blocks() {
                let labels: Vec<String> = block.labels.iter().map(label).collect();
                match (block.ident.as_str(), labels.as_slice()) {
                    ("resource", [kind, name]) => {
                        model.resources.insert((kind.clone(), name.clone()), Node { source, block });
                    }
                    ("variable", [name]) => {
                        let default = block.body.get_attribute("default").map(|attribute| &attribute.value);
                        model.variables.insert(name.clone(), default);
                    }
                    ("locals", []) => {
                        for attribute in block.body.attributes() {
                            model.locals.insert(attribute.key.as_str().to_owned(), &attribute.value);
                        }
                    }
                    _ => {}
                }
            }
        }
        model
    }

    pub fn of_kind(&self, kind: &str) -> Vec<(&str, Node<'a>)> {
        self.resources.iter().filter(|((k, _), _)| k == kind).map(|((_, name), node)| (name.as_str(), *node)).collect()
    }

    pub fn get(&self, kind: &str, name: &str) -> Option<Node<'a>> {
        self.resources.get(&(kind.to_owned(), name.to_owned())).copied()
    }

    /// The value of `key` in `node`, resolved.
    pub fn attribute(&self, node: &Node<'_>, key: &str) -> Option<Value> {
        node.block.body.get_attribute(key).map(|attribute| self.eval(&attribute.value, 0))
    }

    /// The resource a reference attribute names, if it is one of this directory's.
    pub fn target(&self, node: &Node<'_>, key: &str) -> Option<(String, String)> {
        match self.attribute(node, key)? {
            Value::Ref { kind, name } => Some((kind, name)),
            _ => None,
        }
    }

    pub fn eval(&self, expression: &Expression, depth: usize) -> Value {
        if depth > 16 {
            return Value::Unknown("references nested too deep".to_owned());
        }
        match expression {
            Expression::String(text) => Value::Text(text.as_str().to_owned()),
            Expression::Number(number) => Value::Number(number.as_f64().unwrap_or_default()),
            Expression::Bool(value) => Value::Bool(*value.value()),
            Expression::Null(_) => Value::Unknown("null".to_owned()),
            Expression::Array(items) => Value::List(items.iter().map(|item| self.eval(item, depth + 1)).collect()),
            Expression::Parenthesis(inner) => self.eval(inner.inner(), depth + 1),
            Expression::StringTemplate(template) => {
                let mut text = String::new();
                for element in template.iter() {
                    match element {
                        hcl_edit::template::Element::Literal(literal) => text.push_str(literal.as_str()),
                        _ => return Value::Unknown("a string with interpolations".to_owned()),
                    }
                }
                Value::Text(text)
            }
            Expression::HeredocTemplate(heredoc) => {
                let mut text = String::new();
                for element in heredoc.template.iter() {
                    match element {
                        hcl_edit::template::Element::Literal(literal) => text.push_str(literal.as_str()),
                        _ => return Value::Text(text + "${...}"),
                    }
                }
                Value::Text(text)
            }
            Expression::Traversal(traversal) => {
                let Expression::Variable(root) = &traversal.expr else {
                    return Value::Unknown("an expression Vigil does not evaluate".to_owned());
                };
                let names: Vec<&str> = traversal
                    .operators
                    .iter()
                    .map(|operator| match operator.value() {
                        TraversalOperator::GetAttr(ident) => ident.as_str(),
                        _ => "[]",
                    })
                    .collect();
                match (root.as_str(), names.as_slice()) {
                    ("var", [name, ..]) => match self.variables.get(*name) {
                        Some(Some(default)) => self.eval(default, depth + 1),
                        Some(None) => Value::Unknown(format!("var.{name} has no default")),
                        None => Value::Unknown(format!("var.{name} is not declared")),
                    },
                    ("local", [name, ..]) => match self.locals.get(*name) {
                        Some(value) => self.eval(value, depth + 1),
                        None => Value::Unknown(format!("local.{name} is not declared")),
                    },
                    ("data", _) => Value::Unknown("a data source, known only to terraform plan".to_owned()),
                    (kind, [name, ..]) if kind.contains('_') => Value::Ref { kind: kind.to_owned(), name: (*name).to_owned() },
                    (other, _) => Value::Unknown(format!("`{other}...`, which Vigil does not resolve")),
                }
            }
            Expression::Object(object) => {
                let keys: Vec<String> = object
                    .iter()
                    .map(|(key, _)| match key {
                        ObjectKey::Ident(ident) => ident.as_str().to_owned(),
                        ObjectKey::Expression(_) => "?".to_owned(),
                    })
                    .collect();
                Value::Unknown(format!("an object ({})", keys.join(", ")))
            }
            Expression::FuncCall(call) => match call.name.name.as_str() {
                "base64encode" | "filebase64" | "file" | "templatefile" | "base64gzip" => Value::Text("(provisioning)".to_owned()),
                other => Value::Unknown(format!("the result of {other}()")),
            },
            _ => Value::Unknown("an expression Vigil does not evaluate".to_owned()),
        }
    }
}
