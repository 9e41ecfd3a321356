//! The shipped examples as tests: the broken stack's findings, exactly, and none on the
//! fixed one or on Vigil's own deploy module; then one case per check.

use super::{lint, Finding, Severity};

fn run(files: &[(&str, &str)]) -> Vec<Finding> {
    lint(&files.iter().map(|(path, text)| ((*path).to_owned(), (*text).to_owned())).collect::<Vec<_>>())
}

fn codes(findings: &[Finding]) -> Vec<(usize, &'static str)> {
    findings.iter().map(|finding| (finding.location.line, finding.code)).collect()
}

#[test]
fn the_broken_example_says_why_no_client_connects() {
    let findings = run(&[("main.tf", include_str!("../../../examples/terraform/broken/main.tf"))]);
    assert_eq!(
        codes(&findings),
        [
            (52, "terraform.partial_health_check"),
            (70, "terraform.no_provisioning"),
            (73, "terraform.instance_public"),
            (74, "terraform.instance_public"),
            (75, "terraform.shared_security_group"),
            (75, "terraform.target_port_blocked"),
        ],
        "{findings:#?}"
    );
    let blocked = findings.iter().find(|finding| finding.code == "terraform.target_port_blocked").expect("blocked");
    assert_eq!(blocked.severity, Severity::Error);
    assert!(blocked.what.contains("target port 5000") && blocked.what.contains("allow port 80"), "{}", blocked.what);
    assert!(blocked.fix.contains("aws_security_group.web.id"), "{}", blocked.fix);
    assert_eq!(blocked.location.column, 3);
}

#[test]
fn the_fixed_example_and_the_deploy_module_are_clean() {
    let findings = run(&[("main.tf", include_str!("../../../examples/terraform/fixed/main.tf"))]);
    assert_eq!(findings, [], "{findings:#?}");
    let deploy = [
        ("main.tf", include_str!("../../../deploy/terraform/main.tf")),
        ("variables.tf", include_str!("../../../deploy/terraform/variables.tf")),
    ];
    let findings = run(&deploy);
    assert!(findings.iter().all(|finding| finding.severity == Severity::Info), "{findings:#?}");
}

const STACK: &str = r#"
resource "aws_security_group" "lb" {
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
resource "aws_security_group" "app" {}
resource "aws_lb" "main" { security_groups = [aws_security_group.lb.id] }
resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.main.arn
  default_action {
    type = "forward"
    forward {
      target_group { arn = aws_lb_target_group.app.arn }
    }
  }
}
resource "aws_lb_target_group" "app" {
  port = var.port
  health_check {
    matcher = "301"
    port = 9000
    healthy_threshold = 5
    unhealthy_threshold = 2
  }
}
resource "aws_instance" "app" {
  vpc_security_group_ids = [aws_security_group.app.id]
  launch_template { id = "lt-1" }
}
resource "aws_lb_target_group_attachment" "app" {
  target_group_arn = aws_lb_target_group.app.arn
  target_id        = aws_instance.app.id
}
"#;

#[test]
fn each_check_on_its_own() {
    // A variable without a default: said, never guessed.
    let unresolved = run(&[("a.tf", &format!("variable \"port\" {{}}\n{STACK}"))]);
    assert_eq!(
        unresolved.iter().map(|finding| finding.code).collect::<Vec<_>>(),
        ["terraform.unresolved", "terraform.health_matcher"],
        "{unresolved:#?}"
    );
    assert!(unresolved[0].what.contains("var.port has no default"), "{unresolved:#?}");

    // With the port known: the app port is not admitted; standalone rules count.
    let known = format!("variable \"port\" {{ default = 8080 }}\n{STACK}");
    let findings = run(&[("a.tf", &known)]);
    let found: Vec<&str> = findings.iter().map(|finding| finding.code).collect();
    assert_eq!(found, ["terraform.health_matcher", "terraform.health_port", "terraform.target_port_blocked"], "{findings:#?}");

    let rule = "resource \"aws_vpc_security_group_ingress_rule\" \"app\" {\n  security_group_id = aws_security_group.app.id\n  ip_protocol = \"tcp\"\n  from_port = 8080\n  to_port = 8080\n  referenced_security_group_id = aws_security_group.lb.id\n}\n";
    let findings = run(&[("a.tf", &known), ("rules.tf", rule)]);
    let blocked: Vec<&str> =
        findings.iter().filter(|finding| finding.code == "terraform.target_port_blocked").map(|finding| finding.what.as_str()).collect();
    assert_eq!(blocked, ["instance `app` admits the target port 8080 but not the health check's port 9000 from the load balancer"]);

    let open = "resource \"aws_security_group_rule\" \"open\" {\n  type = \"ingress\"\n  security_group_id = aws_security_group.app.id\n  protocol = \"tcp\"\n  from_port = 8000\n  to_port = 9000\n  cidr_blocks = [\"0.0.0.0/0\"]\n}\n";
    let findings = run(&[("a.tf", &known), ("open.tf", open)]);
    let open_finding = findings.iter().find(|finding| finding.code == "terraform.app_port_open").expect("open");
    assert_eq!((open_finding.location.file.as_str(), open_finding.location.line), ("open.tf", 1));

    // A parse error is located.
    let broken = run(&[("bad.tf", "resource \"aws_instance\" \"x\" {\n  ami = \n}\n")]);
    assert_eq!(codes(&broken), [(2, "terraform.parse")], "{broken:#?}");
}

#[test]
fn cidr_sources_must_cover_the_load_balancers_subnets() {
    let stack = |source: &str, health_port: &str| {
        format!(
            r#"
resource "aws_subnet" "lb_a" {{ cidr_block = "10.0.1.0/24" }}
resource "aws_subnet" "lb_b" {{ cidr_block = "10.0.2.0/24" }}
resource "aws_security_group" "lb" {{}}
resource "aws_security_group" "app" {{
  ingress {{
    from_port   = 5000
    to_port     = 5000
    protocol    = "tcp"
    cidr_blocks = ["{source}"]
  }}
}}
resource "aws_lb" "main" {{
  security_groups = [aws_security_group.lb.id]
  subnets         = [aws_subnet.lb_a.id, aws_subnet.lb_b.id]
}}
resource "aws_lb_listener" "http" {{
  load_balancer_arn = aws_lb.main.arn
  default_action {{ target_group_arn = aws_lb_target_group.app.arn }}
}}
resource "aws_lb_target_group" "app" {{
  port = 5000
  health_check {{
    port                = {health_port}
    healthy_threshold   = 5
    unhealthy_threshold = 2
  }}
}}
resource "aws_instance" "app" {{
  vpc_security_group_ids = [aws_security_group.app.id]
  user_data              = "start"
}}
resource "aws_lb_target_group_attachment" "app" {{
  target_group_arn = aws_lb_target_group.app.arn
  target_id        = aws_instance.app.id
}}
"#
        )
    };
    let blocked = |source: &str, health_port: &str| {
        run(&[("a.tf", &stack(source, health_port))]).iter().filter(|finding| finding.code == "terraform.target_port_blocked").count()
    };
    assert_eq!(blocked("10.0.0.0/16", "\"traffic-port\""), 0, "the VPC range covers both LB subnets");
    assert_eq!(blocked("10.0.1.0/24", "\"traffic-port\""), 1, "one LB subnet is left out");
    assert_eq!(blocked("10.0.0.0/16", "8081"), 1, "the health check's own port is not admitted");
    assert!(super::contains("0.0.0.0/0", "10.1.2.0/24") && !super::contains("10.0.1.0/24", "10.0.0.0/16"));
}
