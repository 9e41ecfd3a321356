//! `vigil lint terraform DIR`: cross-checks of the resources that make up a
//! load-balanced service on AWS — the listener, its target group and health check, the
//! instances registered in it and the security groups between them — which checkov,
//! trivy and terrascan do not make (they judge one resource at a time).
//!
//! Pure: file texts in, findings out. Values are resolved as far as the source says
//! ([`model`]); a check whose inputs cannot be resolved says so instead of guessing.

pub mod model;

use std::collections::BTreeSet;

use model::{Location, Model, Node, Source, Value};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// One finding: where, what, why it matters, and the fix.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    #[serde(flatten)]
    pub location: Location,
    pub severity: Severity,
    pub code: &'static str,
    pub what: String,
    pub why: String,
    pub fix: String,
}

/// Lints the `.tf` files given as (path, text).
pub fn lint(files: &[(String, String)]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut sources = Vec::new();
    for (path, text) in files {
        match Source::parse(path, text) {
            Ok(source) => sources.push(source),
            Err((location, message)) => findings.push(Finding {
                location,
                severity: Severity::Error,
                code: "terraform.parse",
                what: format!("the file does not parse: {message}"),
                why: "nothing in it can be checked".to_owned(),
                fix: "fix the syntax (terraform fmt points at it too)".to_owned(),
            }),
        }
    }
    let model = Model::new(&sources);
    let mut lint = Lint { model: &model, findings };
    lint.target_groups();
    lint.findings.sort_by(|a, b| {
        (&a.location.file, a.location.line, a.location.column, a.code).cmp(&(&b.location.file, b.location.line, b.location.column, b.code))
    });
    lint.findings.dedup();
    lint.findings
}

/// An ingress rule, wherever it is written.
struct Rule {
    from: Option<i64>,
    to: Option<i64>,
    /// `tcp`, `-1`, ...
    protocol: String,
    groups: Vec<String>,
    cidrs: Vec<String>,
    location: Location,
}

impl Rule {
    fn covers(&self, port: i64) -> bool {
        let all = self.protocol == "-1" || self.protocol == "all";
        all || (matches!(self.protocol.as_str(), "tcp" | "6")
            && self.from.is_some_and(|from| from <= port)
            && self.to.is_some_and(|to| port <= to))
    }

    fn open_to_internet(&self) -> bool {
        self.cidrs.iter().any(|cidr| cidr == "0.0.0.0/0" || cidr == "::/0")
    }
}

/// What is in front of the targets: the load balancers' security groups and subnets.
struct Front {
    groups: BTreeSet<String>,
    /// The load balancers' subnets' CIDR blocks, as far as they are known.
    cidrs: Vec<String>,
    all_cidrs_known: bool,
}

impl Default for Front {
    fn default() -> Front {
        Front { groups: BTreeSet::new(), cidrs: Vec::new(), all_cidrs_known: true }
    }
}

impl Front {
    /// Whether a rule's CIDR sources admit the load balancer: the internet does; else
    /// every LB subnet must lie inside one of them (when the subnets are unknown, any
    /// CIDR is taken as meant for them).
    fn admitted_by(&self, cidrs: &[String]) -> bool {
        if cidrs.iter().any(|cidr| cidr == "0.0.0.0/0" || cidr == "::/0") {
            return true;
        }
        if cidrs.is_empty() {
            return false;
        }
        if !self.all_cidrs_known || self.cidrs.is_empty() {
            return true;
        }
        self.cidrs.iter().all(|subnet| cidrs.iter().any(|outer| contains(outer, subnet)))
    }
}

/// Whether IPv4 block `outer` contains block `inner` (`10.0.0.0/16` contains `10.0.1.0/24`).
fn contains(outer: &str, inner: &str) -> bool {
    let parse = |cidr: &str| -> Option<(u32, u32)> {
        let (address, bits) = cidr.split_once('/')?;
        let address: std::net::Ipv4Addr = address.parse().ok()?;
        let bits: u32 = bits.parse().ok().filter(|bits| *bits <= 32)?;
        Some((u32::from(address), bits))
    };
    let (Some((outer_address, outer_bits)), Some((inner_address, inner_bits))) = (parse(outer), parse(inner)) else { return false };
    let mask = if outer_bits == 0 { 0 } else { u32::MAX << (32 - outer_bits) };
    outer_bits <= inner_bits && (outer_address & mask) == (inner_address & mask)
}

struct Lint<'a> {
    model: &'a Model<'a>,
    findings: Vec<Finding>,
}

fn refs(value: Option<Value>) -> Vec<(String, String)> {
    value
        .map(|value| value.list())
        .unwrap_or_default()
        .iter()
        .filter_map(|item| item.reference().map(|(k, n)| (k.to_owned(), n.to_owned())))
        .collect()
}

fn texts(value: Option<Value>) -> Vec<String> {
    value.map(|value| value.list()).unwrap_or_default().iter().filter_map(|item| item.text().map(str::to_owned)).collect()
}

impl Lint<'_> {
    fn add(&mut self, location: Location, severity: Severity, code: &'static str, what: String, why: &str, fix: String) {
        self.findings.push(Finding { location, severity, code, what, why: why.to_owned(), fix });
    }

    fn unresolved(&mut self, location: Location, what: &str, value: &Value) {
        if let Value::Unknown(reason) = value {
            self.add(
                location,
                Severity::Info,
                "terraform.unresolved",
                format!("cannot resolve {what}: {reason}"),
                "the checks that need it are skipped, not guessed",
                "give the variable a default, or check this with `terraform plan`".to_owned(),
            );
        }
    }

    /// A number attribute, or an info finding when it cannot be resolved.
    fn number(&mut self, node: &Node<'_>, key: &str, what: &str) -> Option<i64> {
        let value = self.model.attribute(node, key)?;
        match value.number() {
            Some(number) => Some(number),
            None => {
                self.unresolved(node.location_of(key), what, &value);
                None
            }
        }
    }

    fn target_groups(&mut self) {
        let model = self.model;
        let mut groups = model.of_kind("aws_lb_target_group");
        groups.extend(model.of_kind("aws_alb_target_group"));
        for (name, group) in groups {
            let port = self.number(&group, "port", &format!("the port of target group `{name}`"));
            self.health_check(name, &group, port);
            let listeners: Vec<Node<'_>> = ["aws_lb_listener", "aws_alb_listener"]
                .iter()
                .flat_map(|kind| model.of_kind(kind))
                .filter(|(_, listener)| {
                    listener.blocks("default_action").iter().any(|action| {
                        model.target(action, "target_group_arn").is_some_and(|(_, target)| target == name)
                            || action
                                .blocks("forward")
                                .iter()
                                .flat_map(|forward| forward.blocks("target_group"))
                                .any(|entry| model.target(&entry, "arn").is_some_and(|(_, target)| target == name))
                    })
                })
                .map(|(_, listener)| listener)
                .collect();
            if listeners.is_empty() {
                self.add(
                    group.location(),
                    Severity::Warning,
                    "terraform.target_group_unused",
                    format!("no listener forwards to target group `{name}`"),
                    "the load balancer never sends it traffic",
                    format!(
                        "add a default_action {{ type = \"forward\", target_group_arn = aws_lb_target_group.{name}.arn }} to a listener"
                    ),
                );
            }
            let mut lb = Front::default();
            for listener in &listeners {
                if let Some((_, name)) = model.target(listener, "load_balancer_arn") {
                    let node = model.get("aws_lb", &name).or_else(|| model.get("aws_alb", &name));
                    if let Some(node) = node {
                        lb.groups.extend(refs(model.attribute(&node, "security_groups")).into_iter().map(|(_, sg)| sg));
                        for (kind, subnet) in refs(model.attribute(&node, "subnets")) {
                            let cidr = model
                                .get(&kind, &subnet)
                                .and_then(|node| model.attribute(&node, "cidr_block"))
                                .and_then(|value| value.text().map(str::to_owned));
                            match cidr {
                                Some(cidr) => lb.cidrs.push(cidr),
                                None => lb.all_cidrs_known = false,
                            }
                        }
                    }
                }
            }
            let health_port = group.blocks("health_check").iter().find_map(|check| match model.attribute(check, "port") {
                Some(Value::Number(number)) => Some(number as i64),
                _ => None,
            });
            let attachments: Vec<Node<'_>> = ["aws_lb_target_group_attachment", "aws_alb_target_group_attachment"]
                .iter()
                .flat_map(|kind| model.of_kind(kind))
                .filter(|(_, attachment)| model.target(attachment, "target_group_arn").is_some_and(|(_, target)| target == name))
                .map(|(_, attachment)| attachment)
                .collect();
            for attachment in attachments {
                let Some(("aws_instance", instance_name)) =
                    model.target(&attachment, "target_id").as_ref().map(|(kind, name)| (kind.as_str(), name.clone()))
                else {
                    continue;
                };
                let Some(instance) = model.get("aws_instance", &instance_name) else { continue };
                let target_port = self.number(&attachment, "port", "the attachment's port").or(port);
                self.instance(&instance_name, &instance, target_port, health_port.filter(|health| Some(*health) != target_port), &lb);
            }
        }
    }

    fn health_check(&mut self, name: &str, group: &Node<'_>, port: Option<i64>) {
        let model = self.model;
        for check in group.blocks("health_check") {
            let missing: Vec<&str> = ["healthy_threshold", "unhealthy_threshold"].into_iter().filter(|key| !check.has(key)).collect();
            if !missing.is_empty() {
                self.add(
                    check.location(),
                    Severity::Warning,
                    "terraform.partial_health_check",
                    format!("the health_check of target group `{name}` leaves out {}", missing.join(" and ")),
                    "the AWS provider then sends its own defaults (3 and 3), not the ones AWS documents for a target group (5 healthy, 2 unhealthy), so a target takes longer to be taken out",
                    "set healthy_threshold and unhealthy_threshold (and interval, timeout) explicitly".to_owned(),
                );
            }
            if let Some(matcher) = model.attribute(&check, "matcher").and_then(|value| value.text().map(str::to_owned)) {
                let admits_200 = matcher.split(',').any(|part| match part.trim().split_once('-') {
                    Some((low, high)) => {
                        low.trim().parse::<u16>().is_ok_and(|low| low <= 200) && high.trim().parse::<u16>().is_ok_and(|high| high >= 200)
                    }
                    None => part.trim() == "200",
                });
                if !admits_200 {
                    self.add(
                        check.location_of("matcher"),
                        Severity::Warning,
                        "terraform.health_matcher",
                        format!("the health check of `{name}` does not accept 200 (matcher `{matcher}`)"),
                        "a healthy app answering 200 is marked unhealthy",
                        "include 200 in the matcher (e.g. \"200-399\")".to_owned(),
                    );
                }
            }
            if let (Some(Value::Number(check_port)), Some(port)) = (model.attribute(&check, "port"), port) {
                if check_port as i64 != port {
                    self.add(
                        check.location_of("port"),
                        Severity::Info,
                        "terraform.health_port",
                        format!("the health check of `{name}` goes to port {}, traffic to port {port}", check_port as i64),
                        "both ports must be open from the load balancer, and the health of one says little about the other",
                        "use port = \"traffic-port\" unless the app serves health on its own port".to_owned(),
                    );
                }
            }
        }
    }

    /// Ingress rules of security group `name`, inline and standalone.
    fn rules(&self, name: &str) -> Vec<Rule> {
        let model = self.model;
        let mut rules = Vec::new();
        let text = |value: Option<Value>| {
            value.and_then(|value| value.text().map(str::to_owned).or_else(|| value.number().map(|n| n.to_string())))
        };
        if let Some(group) = model.get("aws_security_group", name) {
            for ingress in group.blocks("ingress") {
                rules.push(Rule {
                    from: model.attribute(&ingress, "from_port").and_then(|value| value.number()),
                    to: model.attribute(&ingress, "to_port").and_then(|value| value.number()),
                    protocol: text(model.attribute(&ingress, "protocol")).unwrap_or_default(),
                    groups: refs(model.attribute(&ingress, "security_groups")).into_iter().map(|(_, sg)| sg).collect(),
                    cidrs: [texts(model.attribute(&ingress, "cidr_blocks")), texts(model.attribute(&ingress, "ipv6_cidr_blocks"))].concat(),
                    location: ingress.location(),
                });
            }
        }
        for (_, rule) in model.of_kind("aws_security_group_rule") {
            let ingress = model.attribute(&rule, "type").and_then(|value| value.text().map(|text| text == "ingress")).unwrap_or(false);
            if !ingress || model.target(&rule, "security_group_id").is_none_or(|(_, group)| group != name) {
                continue;
            }
            rules.push(Rule {
                from: model.attribute(&rule, "from_port").and_then(|value| value.number()),
                to: model.attribute(&rule, "to_port").and_then(|value| value.number()),
                protocol: text(model.attribute(&rule, "protocol")).unwrap_or_default(),
                groups: model.target(&rule, "source_security_group_id").map(|(_, group)| group).into_iter().collect(),
                cidrs: [texts(model.attribute(&rule, "cidr_blocks")), texts(model.attribute(&rule, "ipv6_cidr_blocks"))].concat(),
                location: rule.location(),
            });
        }
        for (_, rule) in model.of_kind("aws_vpc_security_group_ingress_rule") {
            if model.target(&rule, "security_group_id").is_none_or(|(_, group)| group != name) {
                continue;
            }
            rules.push(Rule {
                from: model.attribute(&rule, "from_port").and_then(|value| value.number()),
                to: model.attribute(&rule, "to_port").and_then(|value| value.number()),
                protocol: text(model.attribute(&rule, "ip_protocol")).unwrap_or_default(),
                groups: model.target(&rule, "referenced_security_group_id").map(|(_, group)| group).into_iter().collect(),
                cidrs: [text(model.attribute(&rule, "cidr_ipv4")), text(model.attribute(&rule, "cidr_ipv6"))]
                    .into_iter()
                    .flatten()
                    .collect(),
                location: rule.location(),
            });
        }
        rules
    }

    fn instance(&mut self, name: &str, instance: &Node<'_>, port: Option<i64>, health_port: Option<i64>, lb: &Front) {
        let model = self.model;
        let lb_groups = &lb.groups;
        let groups: BTreeSet<String> =
            [refs(model.attribute(instance, "vpc_security_group_ids")), refs(model.attribute(instance, "security_groups"))]
                .concat()
                .into_iter()
                .map(|(_, group)| group)
                .collect();
        let groups_at =
            if instance.has("vpc_security_group_ids") { instance.location_of("vpc_security_group_ids") } else { instance.location() };
        let shared: Vec<&String> = groups.intersection(lb_groups).collect();
        if !shared.is_empty() {
            self.add(
                groups_at.clone(),
                Severity::Warning,
                "terraform.shared_security_group",
                format!("instance `{name}` and its load balancer share security group `{}`", shared.iter().map(|group| group.as_str()).collect::<Vec<_>>().join("`, `")),
                "what the load balancer must admit from the internet the instance then admits too, and a rule naming the group as its own source is easy to miss",
                "give the load balancer and the instances their own groups; admit the app port on the instances' group from the load balancer's group only".to_owned(),
            );
        }
        let rules: Vec<Rule> = groups.iter().flat_map(|group| self.rules(group)).collect();
        if let Some(port) = port {
            let unresolved = rules.iter().find(|rule| rule.protocol != "-1" && (rule.from.is_none() || rule.to.is_none()));
            if let Some(rule) = unresolved {
                let location = rule.location.clone();
                self.unresolved(location, "an ingress rule's ports", &Value::Unknown("from_port or to_port is not a literal".to_owned()));
            } else {
                let admits = |port: i64| {
                    rules.iter().any(|rule| {
                        rule.covers(port)
                            && (rule.groups.iter().any(|group| lb_groups.contains(group) || groups.contains(group))
                                || lb.admitted_by(&rule.cidrs))
                    })
                };
                if let Some(health) = health_port.filter(|health| admits(port) && !admits(*health)) {
                    self.add(
                        groups_at.clone(),
                        Severity::Error,
                        "terraform.target_port_blocked",
                        format!("instance `{name}` admits the target port {port} but not the health check's port {health} from the load balancer"),
                        "the health checks are dropped: the targets never become healthy, though traffic could reach them",
                        format!("admit TCP {health} from the load balancer's security group too, or use port = \"traffic-port\""),
                    );
                }
                if !admits(port) {
                    let lb = lb_groups
                        .iter()
                        .next()
                        .map_or("the load balancer's security group".to_owned(), |group| format!("aws_security_group.{group}"));
                    let open: Vec<String> = rules
                        .iter()
                        .filter_map(|rule| {
                            rule.from.map(|from| {
                                if rule.to == Some(from) {
                                    from.to_string()
                                } else {
                                    format!("{from}-{}", rule.to.unwrap_or(from))
                                }
                            })
                        })
                        .collect();
                    self.add(
                        groups_at.clone(),
                        Severity::Error,
                        "terraform.target_port_blocked",
                        format!(
                            "instance `{name}` admits no traffic on the target port {port} from the load balancer (its security groups allow {})",
                            if open.is_empty() { "nothing".to_owned() } else { format!("port {}", open.join(", ")) }
                        ),
                        "the target group's health checks and the forwarded requests are dropped: targets stay unhealthy and clients get 502/503/504",
                        format!("add an ingress rule for TCP {port} to the instance's security group with security_groups = [{lb}.id]"),
                    );
                }
                for rule in rules.iter().filter(|rule| rule.covers(port) && rule.open_to_internet()) {
                    self.add(
                        rule.location.clone(),
                        Severity::Error,
                        "terraform.app_port_open",
                        format!("the app port {port} of instance `{name}` is open to the internet (0.0.0.0/0)"),
                        "clients can bypass the load balancer, its TLS and its health-based routing",
                        "admit the app port from the load balancer's security group only".to_owned(),
                    );
                }
            }
        }
        self.exposure(name, instance);
        let provisioned =
            ["user_data", "user_data_base64", "launch_template"].iter().any(|key| instance.has(key) || !instance.blocks(key).is_empty())
                || !instance.blocks("provisioner").is_empty();
        if !provisioned {
            self.add(
                instance.location(),
                Severity::Warning,
                "terraform.no_provisioning",
                format!("nothing starts the app on instance `{name}` (no user_data, launch template or provisioner)"),
                "the instance boots without the app listening: the target stays unhealthy",
                "add user_data that installs and starts the app as a service listening on 0.0.0.0 and the target port".to_owned(),
            );
        }
    }

    /// An instance behind a load balancer reachable from the internet.
    fn exposure(&mut self, name: &str, instance: &Node<'_>) {
        let model = self.model;
        if model.attribute(instance, "associate_public_ip_address") == Some(Value::Bool(true)) {
            self.add(
                instance.location_of("associate_public_ip_address"),
                Severity::Warning,
                "terraform.instance_public",
                format!("instance `{name}` behind a load balancer has a public IP"),
                "it can be reached around the load balancer; only the load balancer needs to be public",
                "set associate_public_ip_address = false and put the instance in a private subnet (NAT for its outbound traffic)"
                    .to_owned(),
            );
        }
        let Some((subnet_kind, subnet_name)) = model.target(instance, "subnet_id") else { return };
        if subnet_kind == "aws_default_subnet" {
            self.add(
                instance.location_of("subnet_id"),
                Severity::Warning,
                "terraform.instance_public",
                format!("instance `{name}` is in default subnet `{subnet_name}`, which is public (routed to the default VPC's internet gateway, public IPs on launch)"),
                "it can be reached around the load balancer; only the load balancer needs public subnets",
                "put the instance in a private subnet whose default route is a NAT gateway".to_owned(),
            );
            return;
        }
        let Some(subnet) = model.get("aws_subnet", &subnet_name) else { return };
        let public_on_launch = model.attribute(&subnet, "map_public_ip_on_launch") == Some(Value::Bool(true));
        let routed = model
            .of_kind("aws_route_table_association")
            .into_iter()
            .filter(|(_, association)| model.target(association, "subnet_id").is_some_and(|(_, subnet)| subnet == subnet_name))
            .filter_map(|(_, association)| model.target(&association, "route_table_id"))
            .any(|(_, table)| self.routes_to_internet_gateway(&table));
        if public_on_launch || routed {
            self.add(
                instance.location_of("subnet_id"),
                Severity::Warning,
                "terraform.instance_public",
                format!(
                    "instance `{name}` is in subnet `{subnet_name}`, which {}",
                    if routed { "routes to an internet gateway (a public subnet)" } else { "gives every instance a public IP" }
                ),
                "it can be reached around the load balancer; only the load balancer needs public subnets",
                "put the instance in a private subnet whose default route is a NAT gateway".to_owned(),
            );
        }
    }

    fn routes_to_internet_gateway(&self, table: &str) -> bool {
        let model = self.model;
        let igw = |node: &Node<'_>| model.target(node, "gateway_id").is_some_and(|(kind, _)| kind == "aws_internet_gateway");
        let inline = model.get("aws_route_table", table).is_some_and(|node| node.blocks("route").iter().any(igw));
        inline
            || model
                .of_kind("aws_route")
                .iter()
                .any(|(_, route)| model.target(route, "route_table_id").is_some_and(|(_, t)| t == table) && igw(route))
    }
}

#[cfg(test)]
mod tests;
