//! Cases ported from grafana/loki `pkg/logql/syntax/parser_test.go` (`ParseTestCases`)
//! and `ast_test.go` (`Test_logSelectorExpr_String`, `Test_SampleExpr_String`,
//! `Test_SampleExpr_String_Fail`, `Test_FilterMatcher`). Each input is Loki's; each
//! outcome is Vigil's: parsed (`OK`), or the located error, where everything Loki
//! accepts but Vigil's subset leaves out must be rejected by name.

use crate::eval::pipeline::{Labels, Pipeline};
use crate::{parse, Expr};

const OK: &str = "OK";

fn outcome(text: &str) -> String {
    match parse(text) {
        Ok(_) => OK.to_owned(),
        Err(error) => error.to_string(),
    }
}

/// `ParseTestCases`. Not ported: the one case of invalid UTF-8 (a Rust `&str` cannot
/// hold it).
#[test]
fn loki_parser_cases() {
    let cases: &[(&str, &str)] = &[
        (r#"count_over_time({foo=~`bar\w+`}[12h] |~ `error\`)"#, OK),
        (r#"{ foo = "bar" } | decolorize"#, r#"column 19: `decolorize` is not supported by Vigil's LogQL subset"#),
        (r#"count_over_time({foo="bar"}[12h] |= "error")"#, OK),
        (r#"count_over_time({foo="bar"} |= "error" [12h])"#, OK),
        (r#"{foo="bar"}"#, OK),
        (r#"{ foo = "bar" }"#, OK),
        (r#"{ namespace="buzz", foo != "bar" }"#, OK),
        (r#"{ foo =~ "bar" }"#, OK),
        (r#"{ namespace="buzz", foo !~ "bar" }"#, OK),
        (r#"count_over_time({ foo = "bar" }[12m])"#, OK),
        (r#"bytes_over_time({ foo = "bar" }[12m])"#, OK),
        (r#"bytes_rate({ foo = "bar" }[12m])"#, OK),
        (r#"rate({ foo = "bar" }[5h])"#, OK),
        (r#"{ foo = "bar" }|logfmt --strict"#, OK),
        (r#"{ foo = "bar" }|logfmt|rate="a""#, OK),
        (r#"{ foo = "bar" }|logfmt|length>5d"#, OK),
        (r#"{ foo = "bar" }|logfmt --strict --keep-empty|length>5d"#, OK),
        (r#"rate({ foo = "bar" }[5d])"#, OK),
        (r#"count_over_time({ foo = "bar" }[1w])"#, OK),
        (r#"absent_over_time({ foo = "bar" }[1w])"#, r#"column 1: `absent_over_time` is not supported by Vigil's LogQL subset"#),
        (r#"sum(rate({ foo = "bar" }[5h]))"#, OK),
        (r#"sum(rate({ foo ="bar" }[1y]))"#, OK),
        (r#"avg(count_over_time({ foo = "bar" }[5h])) by (bar,foo)"#, OK),
        (
            r#"avg(
					label_replace(
						count_over_time({ foo = "bar" }[5h]),
						"bar",
						"$1$2",
						"foo",
						"(.*).(.*)"
					)
				) by (bar,foo)"#,
            r#"column 11: `label_replace` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"avg(count_over_time({ foo = "bar" }[5h])) by ()"#, OK),
        (r#"max without (bar) (count_over_time({ foo = "bar" }[5h]))"#, OK),
        (r#"max without () (count_over_time({ foo = "bar" }[5h]))"#, OK),
        (r#"topk(10,count_over_time({ foo = "bar" }[5h])) without (bar)"#, OK),
        (r#"bottomk(30 ,sum(rate({ foo = "bar" }[5h])) by (foo))"#, OK),
        (r#"max( sum(count_over_time({ foo = "bar" }[5h])) without (foo,bar) ) by (foo)"#, OK),
        (r#"{ foo = "bar" } | logfmt | msg =~ "`.`" "#, OK),
        (r#"unk({ foo = "bar" }[5m])"#, r#"column 1: unknown function `unk`"#),
        (r#"absent_over_time({ foo = "bar" }[5h]) by (foo)"#, r#"column 1: `absent_over_time` is not supported by Vigil's LogQL subset"#),
        (r#"approx_topk(2, count_over_time({ foo = "bar" }[5h])) by (foo)"#, r#"column 1: unknown function `approx_topk`"#),
        (r#"rate({ foo = "bar" }[5minutes])"#, r#"column 22: invalid number, duration or byte size `5minutes`"#),
        (r#"label_replace(rate({ foo = "bar" }[5m]),"")"#, r#"column 1: `label_replace` is not supported by Vigil's LogQL subset"#),
        (
            r#"label_replace(rate({ foo = "bar" }[5m]),"foo","$1","bar","^^^^x43\\q")"#,
            r#"column 1: `label_replace` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"rate({ foo = "bar" }[5)"#, r#"column 22: unexpected number 5, expected a positive duration such as 5m"#),
        (
            r#"min({ foo = "bar" }[5m])"#,
            r#"column 5: a log query cannot be used here; wrap it in a range aggregation such as count_over_time({...} [5m])"#,
        ),
        (
            r#"avg(
					label_replace(
						count_over_time({ foo = "bar" }[5h]) or 0,
						"bar",
						"$1$2",
						"foo",
						"(.*).(.*)"
					)
				) by (bar,foo)"#,
            r#"column 11: `label_replace` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"avg(
					label_replace(
						count_over_time({ foo = "bar" }[5h]) or sum_over_time({ foo = "bar" }[5h]),
						"bar",
						"$1$2",
						"foo",
						"(.*).(.*)"
					)
				) by (bar,foo)"#,
            r#"column 11: `label_replace` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"{foo="bar"} |= "baz" |= ip("123.123.123.123")"#, r#"column 25: `ip()` is not supported by Vigil's LogQL subset"#),
        (
            r#"{ foo = "bar" , ip="foo"}|logfmt|= ip("127.0.0.1")|ip="2.3.4.5"|ip="abc"|ipaddr=ip("4.5.6.7")|ip=ip("6.7.8.9")"#,
            r#"column 36: `ip()` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"{foo="bar"} |= ip("123.123.123.123")"#, r#"column 16: `ip()` is not supported by Vigil's LogQL subset"#),
        (r#"{foo="bar"} |= ip("123.123.123.123")|= "baz""#, r#"column 16: `ip()` is not supported by Vigil's LogQL subset"#),
        (
            r#"{foo="bar"} |= ip("123.123.123.123")|= "baz" |=ip("123.123.123.123")"#,
            r#"column 16: `ip()` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"{foo="bar"} |= "baz" |= ip("123.123.123.123")"#, r#"column 25: `ip()` is not supported by Vigil's LogQL subset"#),
        (r#"{foo="bar"} != ip("123.123.123.123")"#, r#"column 16: `ip()` is not supported by Vigil's LogQL subset"#),
        (r#"{foo="bar"} != ip("123.123.123.123")|= "baz""#, r#"column 16: `ip()` is not supported by Vigil's LogQL subset"#),
        (
            r#"{foo="bar"} != ip("123.123.123.123")|= "baz" !=ip("123.123.123.123")"#,
            r#"column 16: `ip()` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"{ foo = "bar" }|logfmt|addr>=ip("1.2.3.4")"#, r#"column 30: `ip()` is not supported by Vigil's LogQL subset"#),
        (r#"{ foo = "bar" }|logfmt|addr>ip("1.2.3.4")"#, r#"column 29: `ip()` is not supported by Vigil's LogQL subset"#),
        (r#"{ foo = "bar" }|logfmt|addr<=ip("1.2.3.4")"#, r#"column 30: `ip()` is not supported by Vigil's LogQL subset"#),
        (r#"{ foo = "bar" }|logfmt|addr<ip("1.2.3.4")"#, r#"column 29: `ip()` is not supported by Vigil's LogQL subset"#),
        (r#"{ foo = "bar" }|logfmt|addr=ip("1.2.3.4")"#, r#"column 29: `ip()` is not supported by Vigil's LogQL subset"#),
        (r#"{ foo = "bar" }|logfmt|addr!=ip("1.2.3.4")"#, r#"column 30: `ip()` is not supported by Vigil's LogQL subset"#),
        (r#"{ foo = "bar" }|logfmt|level="error"|addr=ip("1.2.3.4")"#, r#"column 43: `ip()` is not supported by Vigil's LogQL subset"#),
        (r#"{ foo = "bar" }|logfmt|level="error"|addr!=ip("1.2.3.4")"#, r#"column 44: `ip()` is not supported by Vigil's LogQL subset"#),
        (
            r#"{ foo = "bar" }|logfmt|remote_addr=ip("2.3.4.5")|level="error"|addr=ip("1.2.3.4")"#,
            r#"column 36: `ip()` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"{ foo = "bar" }|logfmt|remote_addr!=ip("2.3.4.5")|level="error"|addr!=ip("1.2.3.4")"#,
            r#"column 37: `ip()` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"{ foo = "bar" }|logfmt|remote_addr=ip("2.3.4.5")|level="error"|addr!=ip("1.2.3.4")"#,
            r#"column 36: `ip()` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"{ foo = "bar" }|logfmt|ip="2.3.4.5""#, OK),
        (r#"{ foo = "bar" }|logfmt|ip="2.3.4.5"|ip="abc""#, OK),
        (
            r#"{ foo = "bar" }|logfmt|ip="2.3.4.5"|ip="abc"|ipaddr=ip("4.5.6.7")"#,
            r#"column 53: `ip()` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"{ foo = "bar" }|logfmt|ip="2.3.4.5"|ip="abc"|ipaddr=ip("4.5.6.7")|ip=ip("6.7.8.9")"#,
            r#"column 53: `ip()` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"sum(3 ,count_over_time({ foo = "bar" }[5h]))"#, r#"column 7: unexpected `,`, expected `)` to close the aggregation"#),
        (r#"topk(count_over_time({ foo = "bar" }[5h]))"#, r#"column 6: unexpected `count_over_time`, expected k, a whole number"#),
        (r#"bottomk(he,count_over_time({ foo = "bar" }[5h]))"#, r#"column 9: unexpected `he`, expected k, a whole number"#),
        (r#"bottomk(1.2,count_over_time({ foo = "bar" }[5h]))"#, r#"column 9: k must be a whole number of at least 1, got 1.2"#),
        (r#"stddev({ foo = "bar" })"#, r#"column 1: `stddev` is not supported by Vigil's LogQL subset"#),
        (r#"{ foo = "bar", bar != "baz" }"#, OK),
        (r#"{foo="bar"} |= "baz""#, OK),
        (r#"{foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap""#, OK),
        (r#"count_over_time(({foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap")[5m])"#, OK),
        (r#"bytes_over_time(({foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap")[5m])"#, OK),
        (
            r#"bytes_over_time(({foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap" | unpack)[5m])"#,
            r#"column 71: `unpack` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"
			label_replace(
				bytes_over_time(({foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap")[5m]),
				"buzz",
				"$2",
				"bar",
				"(.*):(.*)"
			)
			"#,
            r#"column 5: `label_replace` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"sum(count_over_time(({foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap")[5m])) by (foo)"#, OK),
        (r#"sum(bytes_rate(({foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap")[5m])) by (foo)"#, OK),
        (r#"topk(5,count_over_time(({foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap")[5m])) without (foo)"#, OK),
        (r#"topk(5,sum(rate(({foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap")[5m])) by (app))"#, OK),
        (r#"count_over_time({foo="bar"}[5m] |= "baz" |~ "blip" != "flip" !~ "flap")"#, OK),
        (r#"sum(count_over_time({foo="bar"}[5m] |= "baz" |~ "blip" != "flip" !~ "flap")) by (foo)"#, OK),
        (r#"topk(5,count_over_time({foo="bar"}[5m] |= "baz" |~ "blip" != "flip" !~ "flap")) without (foo)"#, OK),
        (r#"topk(5,sum(rate({foo="bar"}[5m] |= "baz" |~ "blip" != "flip" !~ "flap")) by (app))"#, OK),
        (r#"{foo="bar}"#, r#"column 6: unterminated string, expected a closing `"`"#),
        (r#"{foo="bar""#, r#"column 11: unexpected end of expression, expected `,` or `}`"#),
        (r#"{foo="bar"} |~"#, r#"column 15: unexpected end of expression, expected a quoted pattern"#),
        (r#"{foo="bar"} "foo""#, r#"column 13: unexpected string "foo" after the log query"#),
        (r#"{foo="bar"} foo"#, r#"column 13: unexpected `foo` after the log query"#),
        (
            r#"
			sum(count_over_time({foo="bar"}[5m])) by (foo) /
			sum(count_over_time({foo="bar"}[5m])) by (foo) /
			sum(count_over_time({foo="bar"}[5m])) by (foo)
			"#,
            OK,
        ),
        (
            r#"
					sum(count_over_time({foo="bar"}[5m])) by (foo) ^
					sum(count_over_time({foo="bar"}[5m])) by (foo) /
					sum(count_over_time({foo="bar"}[5m])) by (foo)
					"#,
            OK,
        ),
        (
            r#"
					sum(count_over_time({foo="bar"}[5m])) by (foo) +
					sum(count_over_time({foo="bar"}[5m])) by (foo) /
					sum(count_over_time({foo="bar"}[5m])) by (foo)
					"#,
            OK,
        ),
        (
            r#"sum by (job) (
							count_over_time({namespace="tns"} |= "level=error"[5m])
						/
							count_over_time({namespace="tns"}[5m])
						)"#,
            OK,
        ),
        (
            r#"sum by (job) (
							count_over_time({namespace="tns"} |= "level=error"[5m])
						/
							count_over_time({namespace="tns"}[5m])
						) * 100"#,
            OK,
        ),
        (r#"sum(count_over_time({foo="bar"}[5m])) by (foo) + 1 / 2"#, OK),
        (r#"1 + -2 / 1"#, OK),
        (r#"1 + 1 - -1"#, OK),
        (r#"{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)"#, OK),
        (r#"{app="foo"} | logfmt | status_code > 0x10"#, r#"column 38: invalid number, duration or byte size `0x10`"#),
        (
            r#"{app="foo"} |= "bar" | unpack | json | latency >= 250ms or ( status_code < 500 and status_code > 200)"#,
            r#"column 24: `unpack` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"{app="foo"} |= "bar" | json | (duration > 1s or status!= 200) and method!="POST""#, OK),
        (r#"{app="foo"} |= "bar" | pattern "<foo> bar <buzz>" | (duration > 1s or status!= 200) and method!="POST""#, OK),
        (r#"{app="foo"} |= "bar" | json | ( status_code < 500 and status_code > 200) or latency >= 250ms "#, OK),
        (r#"{app="foo"} |= "bar" | json | ( status_code < 500 or status_code > 200) and latency >= 250ms "#, OK),
        (r#"{app="foo"} |= "bar" | json |  status_code < 500 or status_code > 200 and latency >= 250ms "#, OK),
        (
            r#"{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
				| foo="bar" buzz!="blip", blop=~"boop" or fuzz==5"#,
            OK,
        ),
        (
            r#"{app="foo"} |= "bar" | line_format "blip{{ .foo }}blop""#,
            r#"column 24: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
			| line_format "blip{{ .foo }}blop {{.status_code}}""#,
            r#"column 99: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
			| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}""#,
            r#"column 99: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"count_over_time({app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
			| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}"[5m])"#,
            r#"column 115: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"sum_over_time({app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
			| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}"[5m])"#,
            r#"column 113: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"count_over_time({app="foo"} |= "foo" | json | unwrap foo [5m])"#,
            r#"column 47: `unwrap` has no effect here: this function counts lines or bytes"#,
        ),
        (r#"{app="foo"} |= "bar" | json |  status_code < 500 or status_code > 200 and size >= 2.5KiB "#, OK),
        (
            r#"stdvar_over_time({app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
			| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m])"#,
            r#"column 1: `stdvar_over_time` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"stdvar_over_time({app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
			| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap duration(foo) [5m])"#,
            r#"column 1: `stdvar_over_time` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"sum_over_time({namespace="tns"} |= "level=error" | json |foo>=5,bar<25ms| unwrap bytes(foo) [5m])"#, OK),
        (
            r#"sum_over_time({namespace="tns"} |= "level=error" | json |foo>=5,bar<25ms| unwrap bytes(foo) [5m] offset 5m)"#,
            r#"column 98: `offset` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"sum_over_time({namespace="tns"} |= "level=error" | json |foo>=5,bar<25ms| unwrap latency [5m])"#, OK),
        (r#"sum_over_time({namespace="tns"} |= "level=error" | json |foo==5,bar<25ms| unwrap latency [5m])"#, OK),
        (
            r#"stddev_over_time({app="foo"} |= "bar" | unwrap bar [5m])"#,
            r#"column 1: `stddev_over_time` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"min_over_time({app="foo"} | unwrap bar [5m])"#, OK),
        (r#"min_over_time({app="foo"} | unwrap bar [5m]) by ()"#, OK),
        (r#"max_over_time({app="foo"} | unwrap bar [5m]) without ()"#, OK),
        (r#"max_over_time({app="foo"} | unwrap bar [5m]) without (foo,bar)"#, OK),
        (
            r#"max_over_time({app="foo"} | unwrap bar [5m] offset 5m) without (foo,bar)"#,
            r#"column 45: `offset` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"max_over_time({app="foo"} | unwrap bar [5m] offset -5m) without (foo,bar)"#,
            r#"column 45: `offset` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"max_over_time(({app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
			| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo )[5m])"#,
            r#"column 114: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"quantile_over_time(0.99998,{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
			| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m])"#,
            r#"column 126: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"quantile_over_time(0.99998,{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
			| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m]) by (namespace,instance)"#,
            r#"column 126: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"quantile_over_time(0.99998,{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
			| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo | __error__ !~".+"[5m]) by (namespace,instance)"#,
            r#"column 126: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"sum without (foo) (
				quantile_over_time(0.99998,{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
					| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m]
								) by (namespace,instance)
					)"#,
            r#"column 152: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"sum without (foo) (
				quantile_over_time(0.99998,{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
					| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m] offset 5m
								) by (namespace,instance)
					)"#,
            r#"column 152: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"sum without (foo) (
			quantile_over_time(0.99998,{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
				| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap duration(foo) [5m]
							) by (namespace,instance)
				)"#,
            r#"column 150: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"sum without (foo) (
			quantile_over_time(.99998,{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
				| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap duration(foo) [5m]
							) by (namespace,instance)
				)"#,
            r#"column 149: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"sum without (foo) (
			quantile_over_time(.99998,{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
				| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap duration_seconds(foo) [5m]
							) by (namespace,instance)
				)"#,
            r#"column 149: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"topk(10,
				quantile_over_time(0.99998,{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
					| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m]
								) by (namespace,instance)
					)"#,
            r#"column 141: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"
			sum by (foo,bar) (
				quantile_over_time(0.99998,{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
					| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m]
								) by (namespace,instance)
					)
					+
					avg(
						avg_over_time({app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
							| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m]
										) by (namespace,instance)
							) by (foo,bar)
					"#,
            r#"column 155: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"
			sum by (foo,bar) (
				quantile_over_time(0.99998,{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
					| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m]
								) by (namespace,instance)
					)
					+ ignoring (bar)
					avg(
						avg_over_time({app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
							| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m]
										) by (namespace,instance)
							) by (foo)
					"#,
            r#"column 155: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"
			sum by (foo,bar) (
				quantile_over_time(0.99998,{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
					| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m]
								) by (namespace,instance)
					)
					+ on (foo)
					avg(
						avg_over_time({app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
							| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m]
										) by (namespace,instance)
							) by (foo)
					"#,
            r#"column 155: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"
			sum by (foo,bar) (
				quantile_over_time(0.99998,{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
					| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m]
								) by (namespace,instance)
					)
					+ ignoring (bar) group_left (foo)
					avg(
						avg_over_time({app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
							| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m]
										) by (namespace,instance)
							) by (foo)
					"#,
            r#"column 155: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"
			sum by (app,machine) (count_over_time({app="foo"}[1m])) > bool on () group_right (app) sum by (app) (count_over_time({app="foo"}[1m]))
					"#,
            r#"column 68: `on` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"
			sum by (app,machine) (count_over_time({app="foo"}[1m])) > bool on () group_right sum by (app) (count_over_time({app="foo"}[1m]))
					"#,
            r#"column 68: `on` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"
			label_replace(
				sum by (foo,bar) (
					quantile_over_time(0.99998,{app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
						| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m]
									) by (namespace,instance)
						)
						+
						avg(
							avg_over_time({app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
								| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m]
											) by (namespace,instance)
								) by (foo,bar),
				"foo",
				"$1",
				"svc",
				"(.*)"
				)"#,
            r#"column 5: `label_replace` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"1 + 1 + 1"#, OK),
        (r#"1 == 1"#, OK),
        (r#"1 != 1"#, OK),
        (r#"1 > 1"#, OK),
        (r#"1 >= 1"#, OK),
        (r#"1 < 1"#, OK),
        (r#"1 <= 1"#, OK),
        (r#"1 >= 1 > 1"#, OK),
        (
            r#"{foo="bar"} + {foo="bar"}"#,
            r#"column 13: a log query cannot be compared or combined; aggregate it first, e.g. count_over_time({...} [5m]) > 5"#,
        ),
        (
            r#"sum(count_over_time({foo="bar"}[5m])) by (foo) - {foo="bar"}"#,
            r#"column 50: a log query cannot be used here; wrap it in a range aggregation such as count_over_time({...} [5m])"#,
        ),
        (
            r#"{foo="bar"} / sum(count_over_time({foo="bar"}[5m])) by (foo)"#,
            r#"column 13: a log query cannot be compared or combined; aggregate it first, e.g. count_over_time({...} [5m]) > 5"#,
        ),
        (r#"sum(count_over_time({foo="bar"}[5m])) by (foo) or 1"#, r#"column 48: `or` is not supported by Vigil's LogQL subset"#),
        (r#"1 unless sum(count_over_time({foo="bar"}[5m])) by (foo)"#, r#"column 3: `unless` is not supported by Vigil's LogQL subset"#),
        (r#"sum(count_over_time({foo="bar"}[5m])) by (foo) + 1 or 1"#, r#"column 52: `or` is not supported by Vigil's LogQL subset"#),
        (r#"count_over_time({ foo ="bar" }[12m]) > count_over_time({ foo = "bar" }[12m])"#, OK),
        (r#"count_over_time({ foo = "bar" }[12m]) > 1"#, OK),
        (
            r#"count_over_time({ foo = "bar" }[12m]) > { foo = "bar" }"#,
            r#"column 41: a log query cannot be used here; wrap it in a range aggregation such as count_over_time({...} [5m])"#,
        ),
        (
            r#"count_over_time({ foo = "bar" }[12m]) or count_over_time({ foo = "bar" }[12m]) > 1"#,
            r#"column 39: `or` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"1 > 1 < 1"#, OK),
        (r#"1 > 1 > bool 1"#, OK),
        (r#"bool 1 > 1 > bool 1"#, r#"column 1: unknown function `bool`"#),
        (
            r#"sum_over_time({namespace="tns"} |= "level=error" | json |foo>=5,bar<25ms| unwrap latency [5m]) by (foo)"#,
            r#"column 96: grouping not allowed for sum_over_time aggregation; group with sum by (...) (...) instead"#,
        ),
        (
            r#"sum_over_time(50,{namespace="tns"} |= "level=error" | json |foo>=5,bar<25ms| unwrap latency [5m])"#,
            r#"column 15: unexpected number 50, expected `{` to start a stream selector"#,
        ),
        (
            r#"quantile_over_time({namespace="tns"} |= "level=error" | json |foo>=5,bar<25ms| unwrap latency [5m])"#,
            r#"column 20: unexpected `{`, expected the quantile, e.g. 0.99"#,
        ),
        (
            r#"quantile_over_time(foo,{namespace="tns"} |= "level=error" | json |foo>=5,bar<25ms| unwrap latency [5m])"#,
            r#"column 20: unexpected `foo`, expected the quantile, e.g. 0.99"#,
        ),
        (r#"vector(abc)"#, r#"column 1: `vector` is not supported by Vigil's LogQL subset"#),
        (r#"vector(1)"#, r#"column 1: `vector` is not supported by Vigil's LogQL subset"#),
        (r#"label_replace(vector(0), "foo", "bar", "", "")"#, r#"column 1: `label_replace` is not supported by Vigil's LogQL subset"#),
        (r#"sum(vector(0))"#, r#"column 5: `vector` is not supported by Vigil's LogQL subset"#),
        (
            r#"{app="foo"}
					# |= "bar"
					| json"#,
            OK,
        ),
        (
            r#"{app="foo"}
					#
					|= "bar"
					| json"#,
            OK,
        ),
        (r#"{app="foo"} # |= "bar" | json"#, OK),
        (r#"{app="foo"} | json #"#, OK),
        (r#"#{app="foo"} | json"#, r#"column 1: empty expression"#),
        (r##"{app="#"}"##, OK),
        (r##"{app="foo"} |= "#""##, OK),
        (r##"{app="foo"} | bar="#""##, OK),
        (r#"{app="foo"} | json bob="top.sub[\"index\"]""#, OK),
        (r#"{app="foo"} | json bob="top.params[0]""#, OK),
        (r#"{app="foo"} | json response_code="response.code", api_key="request.headers[\"X-API-KEY\"]""#, OK),
        (
            r#"{app="foo"} | json response_code, api_key="request.headers[\"X-API-KEY\"]", layer7_something_specific="layer7_something_specific""#,
            OK,
        ),
        (r#"count_over_time({ foo ="bar" } | json layer7_something_specific="layer7_something_specific" [12m])"#, OK),
        (
            r#"
			sum(count_over_time({foo="bar"}[5m])) or vector(1)
			"#,
            r#"column 43: `or` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"{app="foo"} | logfmt message="msg""#, OK),
        (r#"{app="foo"} | logfmt msg"#, OK),
        (r#"{app="foo"} | logfmt --strict msg"#, OK),
        (r#"{app="foo"} | logfmt --keep-empty msg, err "#, OK),
        (r#"{app="foo"} | logfmt msg, err="error""#, OK),
        (r#"{app="foo"} | logfmt --strict --keep-empty msg="message", apiKey="api_key""#, OK),
        (r#"{app="foo"} |= "foo" or "bar" |= "buzz" or "fizz""#, OK),
        (r#"{app="foo"} |= "foo" or "bar" or "baz""#, OK),
        (r#"{app="foo"} |> "foo" or "bar" or "baz""#, r#"column 13: `|>` is not supported by Vigil's LogQL subset"#),
    ];
    check(cases);
}

/// The selectors and sample expressions of `ast_test.go`, Loki's own round-trip cases;
/// `topk(0, ...)` is refused there too.
#[test]
fn loki_ast_cases() {
    let cases: &[(&str, &str)] = &[
        (r#"{foo="bar"}"#, OK),
        (r#"{foo="bar", bar!="baz"}"#, OK),
        (r#"{foo="bar", bar!="baz"} != "bip" !~ ".+bop""#, OK),
        (
            r#"{foo="bar"} |= "baz" |~ "blip" |> "qux" !> "waldo" != "flip" !~ "flap""#,
            r#"column 32: `|>` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"{foo="bar", bar!="baz"} |= """#, OK),
        (r#"{foo="bar", bar!="baz"} |= "" |= ip("::1")"#, r#"column 34: `ip()` is not supported by Vigil's LogQL subset"#),
        (r#"{foo="bar", bar!="baz"} |= "" != ip("127.0.0.1")"#, r#"column 34: `ip()` is not supported by Vigil's LogQL subset"#),
        (r#"{foo="bar", bar!="baz"} |~ """#, OK),
        (r#"{foo="bar", bar!="baz"} |~ ".*""#, OK),
        (r#"{foo="bar", bar!="baz"} |= "" |= """#, OK),
        (r#"{foo="bar", bar!="baz"} |~ "" |= "" |~ ".*""#, OK),
        (r#"{foo="bar", bar!="baz"} |> """#, r#"column 25: `|>` is not supported by Vigil's LogQL subset"#),
        (r#"{foo="bar", bar!="baz"} |> "<_>""#, r#"column 25: `|>` is not supported by Vigil's LogQL subset"#),
        (r#"{foo="bar", bar!="baz"} |> "<_>" !> "<_> <_>""#, r#"column 25: `|>` is not supported by Vigil's LogQL subset"#),
        (
            r#"{foo="bar", bar!="baz"} != "bip" !~ ".+bop" |> "<_> bop <_>" | json"#,
            r#"column 45: `|>` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"{foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap" | logfmt"#, OK),
        (r#"{foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap" | logfmt --strict"#, OK),
        (r#"{foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap" | logfmt --strict --keep-empty"#, OK),
        (
            r#"{foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap" | unpack | foo>5"#,
            r#"column 54: `unpack` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"{foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap" | pattern "<foo> bar <buzz>" | foo>5"#, OK),
        (r#"{foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap" | logfmt | b>=10GB"#, OK),
        (
            r#"{foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap" | logfmt | b=ip("127.0.0.1")"#,
            r#"column 65: `ip()` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"{foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap" | logfmt | b=ip("127.0.0.1") | level="error""#,
            r#"column 65: `ip()` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"{foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap" | logfmt --strict b="foo" | b=ip("127.0.0.1") | level="error""#,
            r#"column 82: `ip()` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"{foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap" | logfmt --strict --keep-empty b="foo" | b=ip("127.0.0.1") | level="error""#,
            r#"column 95: `ip()` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"{foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap" | logfmt | b=ip("127.0.0.1") | level="error" | c=ip("::1")"#,
            r#"column 65: `ip()` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"{foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap" | regexp "(?P<foo>foo|bar)""#, OK),
        (
            r#"{foo="bar"} |= "baz" |~ "blip" != "flip" !~ "flap" | regexp "(?P<foo>foo|bar)" | ( ( foo<5.01 , bar>20ms ) or foo="bar" ) | line_format "blip{{.boop}}bap" | label_format foo=bar,bar="blip{{.blop}}""#,
            r#"column 125: `line_format` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"{foo="bar"} | logfmt | counter>-1 | counter>=-1 | counter<-1 | counter<=-1 | counter!=-1 | counter==-1"#, OK),
        (r#"rate( ( {job="mysql"} |="error" !="timeout" ) [10s] )>-1"#, OK),
        (r#"rate( ( {job="mysql"} |="error" !="timeout" ) [10s] )"#, OK),
        (
            r#"absent_over_time( ( {job="mysql"} |="error" !="timeout" ) [10s] )"#,
            r#"column 1: `absent_over_time` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"absent_over_time( ( {job="mysql"} |="error" !="timeout" ) [10s] offset 10d )"#,
            r#"column 1: `absent_over_time` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"vector(123)"#, r#"column 1: `vector` is not supported by Vigil's LogQL subset"#),
        (
            r#"sort(sum by(a) (rate( ( {job="mysql"} |="error" !="timeout" ) [10s] ) ))"#,
            r#"column 1: `sort` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"sort_desc(sum by(a) (rate( ( {job="mysql"} |="error" !="timeout" ) [10s] ) ))"#,
            r#"column 1: `sort_desc` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"sum without(a) ( rate ( ( {job="mysql"} |="error" !="timeout" ) [10s] ) )"#, OK),
        (r#"sum by(a) (rate( ( {job="mysql"} |="error" !="timeout" ) [10s] ) )"#, OK),
        (r#"sum(count_over_time({job="mysql"}[5m]))"#, OK),
        (r#"sum(count_over_time({job="mysql"}[5m] offset 10m))"#, r#"column 39: `offset` is not supported by Vigil's LogQL subset"#),
        (r#"sum(count_over_time({job="mysql"} | json [5m]))"#, OK),
        (
            r#"sum(count_over_time({job="mysql"} | json [5m] offset 10m))"#,
            r#"column 47: `offset` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"sum(count_over_time({job="mysql"} | logfmt [5m]))"#, OK),
        (
            r#"sum(count_over_time({job="mysql"} | logfmt --strict [5m] offset 10m))"#,
            r#"column 58: `offset` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"sum(count_over_time({job="mysql"} | pattern "<foo> bar <buzz>" | json [5m]))"#, OK),
        (r#"sum(count_over_time({job="mysql"} | unpack | json [5m]))"#, r#"column 37: `unpack` is not supported by Vigil's LogQL subset"#),
        (r#"sum(count_over_time({job="mysql"} | regexp "(?P<foo>foo|bar)" [5m]))"#, OK),
        (
            r#"sum(count_over_time({job="mysql"} | regexp "(?P<foo>foo|bar)" [5m] offset 10y))"#,
            r#"column 68: `offset` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"topk(10,sum(rate({region="us-east1"}[5m])) by (name))"#, OK),
        (r#"topk by (name)(10,sum(rate({region="us-east1"}[5m])))"#, OK),
        (r#"avg( rate( ( {job="nginx"} |= "GET" ) [10s] ) ) by (region)"#, OK),
        (r#"avg(min_over_time({job="nginx"} |= "GET" | unwrap foo[10s])) by (region)"#, OK),
        (
            r#"avg(min_over_time({job="nginx"} |= "GET" | unwrap foo[10s] offset 10m)) by (region)"#,
            r#"column 60: `offset` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"sum by (cluster) (count_over_time({job="mysql"}[5m]))"#, OK),
        (
            r#"sum by (cluster) (count_over_time({job="mysql"}[5m] offset 10m))"#,
            r#"column 53: `offset` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"sum by (cluster) (count_over_time({job="mysql"}[5m])) / sum by (cluster) (count_over_time({job="postgres"}[5m])) "#, OK),
        (
            r#"sum by (cluster) (count_over_time({job="mysql"}[5m] offset 10m)) / sum by (cluster) (count_over_time({job="postgres"}[5m] offset 10m)) "#,
            r#"column 53: `offset` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"
		sum by (cluster) (count_over_time({job="postgres"}[5m])) /
		sum by (cluster) (count_over_time({job="postgres"}[5m])) /
		sum by (cluster) (count_over_time({job="postgres"}[5m]))
		"#,
            OK,
        ),
        (r#"sum by (cluster) (count_over_time({job="mysql"}[5m])) / min(count_over_time({job="mysql"}[5m])) "#, OK),
        (
            r#"sum by (job) (
			count_over_time({namespace="tns"} |= "level=error"[5m])
		/
			count_over_time({namespace="tns"}[5m])
		)"#,
            OK,
        ),
        (
            r#"stdvar_over_time({app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
		| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m])"#,
            r#"column 1: `stdvar_over_time` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"stdvar_over_time({app="foo"} |= "bar" | json | latency >= 250ms or ( status_code < 500 and status_code > 200)
		| line_format "blip{{ .foo }}blop {{.status_code}}" | label_format foo=bar,status_code="buzz{{.bar}}" | unwrap foo [5m] offset 10m)"#,
            r#"column 1: `stdvar_over_time` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"sum_over_time({namespace="tns"} |= "level=error" | json |foo>=5,bar<25ms|unwrap latency [5m])"#, OK),
        (
            r#"sum by (job) (
			sum_over_time({namespace="tns"} |= "level=error" | json | foo=5 and bar<25ms | unwrap latency[5m])
		/
			count_over_time({namespace="tns"} | logfmt | label_format foo=bar[5m])
		)"#,
            r#"column 170: `label_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"sum by (job) (
			sum_over_time({namespace="tns"} |= "level=error" | json | foo=5 and bar<25ms | unwrap bytes(latency)[5m])
		/
			count_over_time({namespace="tns"} | logfmt | label_format foo=bar[5m])
		)"#,
            r#"column 177: `label_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"sum by (job) (
			sum_over_time(
				{namespace="tns"} |= "level=error" | json | avg=5 and bar<25ms | unwrap duration(latency) [5m]
			)
		/
			count_over_time({namespace="tns"} | logfmt | label_format foo=bar[5m])
		)"#,
            r#"column 190: `label_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"sum_over_time({namespace="tns"} |= "level=error" | json |foo>=5,bar<25ms | unwrap latency | __error__!~".*" | foo >5[5m])"#,
            OK,
        ),
        (
            r#"last_over_time({namespace="tns"} |= "level=error" | json |foo>=5,bar<25ms | unwrap latency | __error__!~".*" | foo >5[5m])"#,
            OK,
        ),
        (
            r#"first_over_time({namespace="tns"} |= "level=error" | json |foo>=5,bar<25ms | unwrap latency | __error__!~".*" | foo >5[5m])"#,
            OK,
        ),
        (
            r#"absent_over_time({namespace="tns"} |= "level=error" | json |foo>=5,bar<25ms | unwrap latency | __error__!~".*" | foo >5[5m])"#,
            r#"column 1: `absent_over_time` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"sum by (job) (
			sum_over_time(
				{namespace="tns"} |= "level=error" | json | avg=5 and bar<25ms | unwrap duration(latency)  | __error__!~".*" [5m]
			)
		/
			count_over_time({namespace="tns"} | logfmt | label_format foo=bar[5m])
		)"#,
            r#"column 209: `label_format` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"label_replace(
			sum by (job) (
				sum_over_time(
					{namespace="tns"} |= "level=error" | json | avg=5 and bar<25ms | unwrap duration(latency)  | __error__!~".*" [5m]
				)
			/
				count_over_time({namespace="tns"} | logfmt | label_format foo=bar[5m])
			),
			"foo",
			"$1",
			"service",
			"(.*):.*"
		)
		"#,
            r#"column 1: `label_replace` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"10 / (5/2)"#, OK),
        (r#"(count_over_time({job="postgres"}[5m])/2) or vector(2)"#, r#"column 43: `or` is not supported by Vigil's LogQL subset"#),
        (r#"10 / (count_over_time({job="postgres"}[5m])/2)"#, OK),
        (r#"{app="foo"} | json response_status="response.status.code", first_param="request.params[0]""#, OK),
        (
            r#"label_replace(
			sum by (job) (
				sum_over_time(
					{namespace="tns"} |= "level=error" | json | avg=5 and bar<25ms | unwrap duration(latency)  | __error__!~".*" [5m] offset 1h
				)
			/
				count_over_time({namespace="tns"} | logfmt | label_format foo=bar[5m] offset 1h)
			),
			"foo",
			"$1",
			"service",
			"(.*):.*"
		)
		"#,
            r#"column 1: `label_replace` is not supported by Vigil's LogQL subset"#,
        ),
        (
            r#"(((
			sum by(typename,pool,commandname,colo)(sum_over_time({_namespace_="appspace", _schema_="appspace-1min", pool=~"r1testlvs", colo=~"slc|lvs|rno", env!~"(pre-production|sandbox)"} | logfmt | status!="0" | ( ( type=~"(?i)^(Error|Exception|Fatal|ERRPAGE|ValidationError)$" or typename=~"(?i)^(Error|Exception|Fatal|ERRPAGE|ValidationError)$" ) or status=~"(?i)^(Error|Exception|Fatal|ERRPAGE|ValidationError)$" ) | commandname=~"(?i).*|UNSET" | unwrap sumcount[5m])) / 60)
				or on ()
				((sum by(typename,pool,commandname,colo)(sum_over_time({_namespace_="appspace", _schema_="appspace-15min", pool=~"r1testlvs", colo=~"slc|lvs|rno", env!~"(pre-production|sandbox)"} | logfmt | status!="0" | ( ( type=~"(?i)^(Error|Exception|Fatal|ERRPAGE|ValidationError)$" or typename=~"(?i)^(Error|Exception|Fatal|ERRPAGE|ValidationError)$" ) or status=~"(?i)^(Error|Exception|Fatal|ERRPAGE|ValidationError)$" ) | commandname=~"(?i).*|UNSET" | unwrap sumcount[5m])) / 15) / 60))
				or on ()
				((sum by(typename,pool,commandname,colo) (sum_over_time({_namespace_="appspace", _schema_="appspace-1h", pool=~"r1testlvs", colo=~"slc|lvs|rno", env!~"(pre-production|sandbox)"} | logfmt | status!="0" | ( ( type=~"(?i)^(Error|Exception|Fatal|ERRPAGE|ValidationError)$" or typename=~"(?i)^(Error|Exception|Fatal|ERRPAGE|ValidationError)$" ) or status=~"(?i)^(Error|Exception|Fatal|ERRPAGE|ValidationError)$" ) | commandname=~"(?i).*|UNSET" | unwrap sumcount[5m])) / 60) / 60))"#,
            r#"column 480: `or` is not supported by Vigil's LogQL subset"#,
        ),
        (r#"{app="foo"} | logfmt code="response.code", IPAddress="host""#, OK),
        (r#"topk(0, sum(rate({region="us-east1"}[5m])) by (name))"#, r#"column 6: k must be a whole number of at least 1, got 0"#),
        (r#"topk by (name)(0,sum(rate({region="us-east1"}[5m])))"#, r#"column 16: k must be a whole number of at least 1, got 0"#),
        (r#"bottomk(0, sum(rate({region="us-east1"}[5m])) by (name))"#, r#"column 9: k must be a whole number of at least 1, got 0"#),
        (r#"bottomk by (name)(0,sum(rate({region="us-east1"}[5m])))"#, r#"column 19: k must be a whole number of at least 1, got 0"#),
    ];
    check(cases);
}

fn check(cases: &[(&str, &str)]) {
    let mut wrong = Vec::new();
    for (text, expected) in cases {
        let got = outcome(text);
        if got != *expected {
            wrong.push(format!("{text:?}\n  expected: {expected}\n  got:      {got}"));
        }
    }
    assert!(wrong.is_empty(), "{} of {} cases differ:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
}

/// `Test_FilterMatcher`: a query and lines it must keep or drop. Not ported: the cases
/// for `ip()` and `|>`, which Vigil rejects by name (see `loki_parser_cases`).
#[test]
fn loki_filter_lines() {
    let cases: &[(&str, &[(&str, bool)])] = &[
        (r#"{app="foo"} |= "foo""#, &[(r#"foobar"#, true), (r#"bar"#, false)]),
        (r#"{app="foo"} |= "foo" != "bar""#, &[(r#"foobuzz"#, true), (r#"bar"#, false)]),
        (r#"{app="foo"} |= "foo" !~ "f.*b""#, &[(r#"foo"#, true), (r#"bar"#, false), (r#"foobar"#, false)]),
        (r#"{app="foo"} |= "foo" |~ "f.*b""#, &[(r#"foo"#, false), (r#"bar"#, false), (r#"foobar"#, true)]),
        (r#"{app="foo"} |~ "foo""#, &[(r#"foo"#, true), (r#"bar"#, false), (r#"foobar"#, true)]),
        (r#"{app="foo"} |~ "foo\\.bar\\.baz""#, &[(r#"foo"#, false), (r#"bar"#, false), (r#"foo.bar.baz"#, true)]),
        (r#"{app="foo"} | logfmt | field =~ `foo\.bar`"#, &[(r#"field=foo"#, false), (r#"field=bar"#, false), (r#"field=foo.bar"#, true)]),
        (
            r#"{app="foo"} | logfmt | duration > 1s and total_bytes < 1GB"#,
            &[(r#"duration=5m total_bytes=5kB"#, true), (r#"duration=1s total_bytes=256B"#, false), (r#"duration=0s"#, false)],
        ),
        (r#"{app="foo"} |= "foo" or "bar""#, &[(r#"foo"#, true), (r#"bar"#, true), (r#"none"#, false)]),
        (r#"{app="foo"} |= "test" |= "foo" or "bar""#, &[(r#"test foo"#, true), (r#"test bar"#, true), (r#"none"#, false)]),
        (
            r#"{app="foo"} |= "test" |= "foo" or "bar" or "baz""#,
            &[
                (r#"test foo"#, true),
                (r#"test bar"#, true),
                (r#"test baz"#, true),
                (r#"baz"#, false),
                (r#"bar"#, false),
                (r#"foo"#, false),
                (r#"none"#, false),
            ],
        ),
        (
            r#"{app="foo"} |= "test" |= "foo" or "bar" or "baz" |= "car""#,
            &[
                (r#"car test foo"#, true),
                (r#"car test bar"#, true),
                (r#"car test baz"#, true),
                (r#"baz"#, false),
                (r#"bar"#, false),
                (r#"test"#, false),
                (r#"foo"#, false),
                (r#"car"#, false),
                (r#"none"#, false),
            ],
        ),
        (
            r#"{app="foo"} |= "test" |= "foo" or "bar" or "baz""#,
            &[(r#"test foo"#, true), (r#"test bar"#, true), (r#"test baz"#, true), (r#"none"#, false)],
        ),
        (
            r#"{app="foo"} |= "foo" or "bar" |= "buzz" or "fizz""#,
            &[(r#"foo buzz"#, true), (r#"bar fizz"#, true), (r#"foo"#, false), (r#"bar"#, false), (r#"none"#, false)],
        ),
        (r#"{app="foo"} |~ "foo" or "bar""#, &[(r#"foo"#, true), (r#"bar"#, true), (r#"none"#, false)]),
        (r#"{app="foo"} |~ "test" |~ "foo" or "bar""#, &[(r#"test foo"#, true), (r#"test bar"#, true), (r#"none"#, false)]),
        (
            r#"{app="foo"} |~ "test" |~ "foo" or "bar" or "baz""#,
            &[
                (r#"test foo"#, true),
                (r#"test bar"#, true),
                (r#"test baz"#, true),
                (r#"baz"#, false),
                (r#"bar"#, false),
                (r#"foo"#, false),
                (r#"none"#, false),
            ],
        ),
        (
            r#"{app="foo"} |~ "test" |~ "foo" or "bar" or "baz" |~ "car""#,
            &[
                (r#"car test foo"#, true),
                (r#"car test bar"#, true),
                (r#"car test baz"#, true),
                (r#"baz"#, false),
                (r#"bar"#, false),
                (r#"test"#, false),
                (r#"foo"#, false),
                (r#"car"#, false),
                (r#"none"#, false),
            ],
        ),
        (r#"{app="foo"} != "foo" or "bar""#, &[(r#"foo"#, false), (r#"bar"#, false), (r#"none"#, true)]),
        (r#"{app="foo"} != "test" != "foo" or "bar""#, &[(r#"test"#, false), (r#"foo"#, false), (r#"bar"#, false), (r#"none"#, true)]),
        (
            r#"{app="foo"} != "test" != "foo" or "bar" or "baz""#,
            &[(r#"test"#, false), (r#"foo"#, false), (r#"bar"#, false), (r#"baz"#, false), (r#"none"#, true)],
        ),
        (
            r#"{app="foo"} != "test" != "foo" or "bar" or "baz" != "car""#,
            &[(r#"test"#, false), (r#"foo"#, false), (r#"bar"#, false), (r#"baz"#, false), (r#"car"#, false), (r#"none"#, true)],
        ),
        (r#"{app="foo"} |~ "foo" or "bar""#, &[(r#"foo"#, true), (r#"bar"#, true), (r#"none"#, false)]),
        (r#"{app="foo"} !~ "foo" or "bar""#, &[(r#"foo"#, false), (r#"bar"#, false), (r#"none"#, true)]),
        (r#"{app="foo"} !~ "test" !~ "foo" or "bar""#, &[(r#"test"#, false), (r#"foo"#, false), (r#"bar"#, false), (r#"none"#, true)]),
        (
            r#"{app="foo"} !~ "test" !~ "foo" or "bar" or "baz""#,
            &[(r#"test"#, false), (r#"foo"#, false), (r#"bar"#, false), (r#"baz"#, false), (r#"none"#, true)],
        ),
        (
            r#"{app="foo"} !~ "test" !~ "foo" or "bar" or "baz" !~ "car""#,
            &[(r#"test"#, false), (r#"foo"#, false), (r#"bar"#, false), (r#"baz"#, false), (r#"car"#, false), (r#"none"#, true)],
        ),
        (
            r#"{app="foo"} | logfmt | duration > -1s"#,
            &[(r#"duration=5m"#, true), (r#"duration=1s"#, true), (r#"duration=0s"#, true), (r#"duration=-5m"#, false)],
        ),
        (
            r#"{app="foo"} | logfmt | count > -1"#,
            &[(r#"count=5"#, true), (r#"count=1"#, true), (r#"count=0"#, true), (r#"count=-5"#, false)],
        ),
        (
            r#"{app="foo"} | logfmt | counter <= -1"#,
            &[(r#"counter=1"#, false), (r#"counter=0"#, false), (r#"counter=-1"#, true), (r#"counter=-2"#, true)],
        ),
        (r#"{app="foo"} |~ "\\|""#, &[(r#"\"#, false), (r#"|"#, true)]),
        (r#"{app="foo"} |~ "(?i)\\|""#, &[(r#"\"#, false), (r#"|"#, true)]),
    ];
    let stream = Labels::from([("app".to_owned(), "foo".to_owned())]);
    for (query, lines) in cases {
        let Ok(Expr::Log(log)) = parse(query) else { panic!("{query} should parse as a log query") };
        let pipeline = Pipeline::new(&log);
        for (line, keep) in *lines {
            assert_eq!(pipeline.process(&stream, line).is_some(), *keep, "{query} on {line:?}");
        }
    }
}
