//! `vigil diagnose` across a real network path with a firewall: two network
//! namespaces this test creates (a client and a server joined by a veth pair), with
//! iptables in the server's. Needs root, `ip` and `iptables` (`.ci/run` installs them;
//! under `CI=true` the test must run).

use std::process::{Child, Command, Stdio};

use crate::diagnose::failed;

fn run(args: &[&str]) -> bool {
    Command::new(args[0]).args(&args[1..]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|status| status.success())
}

/// A client and a server namespace, 10.231.N.1 and 10.231.N.2, the client without a
/// default route.
struct Namespaces {
    client: String,
    server: String,
    subnet: String,
    listener: Option<Child>,
}

impl Namespaces {
    fn create() -> Option<Namespaces> {
        let root = Command::new("id").arg("-u").output().is_ok_and(|output| output.stdout.starts_with(b"0"));
        if !root || !run(&["ip", "-V"]) || !run(&["iptables", "--version"]) {
            return None;
        }
        let id = std::process::id() % 200 + 20;
        let (client, server) = (format!("vgc{id}"), format!("vgs{id}"));
        let subnet = format!("10.231.{id}");
        let _ = run(&["ip", "netns", "del", &client]);
        let _ = run(&["ip", "netns", "del", &server]);
        let mut namespaces = Namespaces { client: client.clone(), server: server.clone(), subnet: subnet.clone(), listener: None };
        let steps: Vec<Vec<String>> = [
            format!("ip netns add {client}"),
            format!("ip netns add {server}"),
            format!("ip link add vc{id} netns {client} type veth peer name vs{id} netns {server}"),
            format!("ip -n {client} addr add {subnet}.1/24 dev vc{id}"),
            format!("ip -n {server} addr add {subnet}.2/24 dev vs{id}"),
            format!("ip -n {client} link set vc{id} up"),
            format!("ip -n {server} link set vs{id} up"),
            format!("ip -n {client} link set lo up"),
            format!("ip -n {server} link set lo up"),
            format!("ip netns exec {server} iptables -A INPUT -p tcp --dport 5000 -j DROP"),
            format!("ip netns exec {server} iptables -A INPUT -p tcp --dport 5001 -j REJECT --reject-with icmp-host-prohibited"),
            format!("ip netns exec {server} iptables -A INPUT -p tcp --dport 5002 -j REJECT --reject-with tcp-reset"),
        ]
        .iter()
        .map(|step| step.split(' ').map(str::to_owned).collect())
        .collect();
        for step in steps {
            if !run(&step.iter().map(String::as_str).collect::<Vec<_>>()) {
                panic!("network namespace setup failed at `{}`", step.join(" "));
            }
        }
        // Something listening on 22 and behind each firewalled port, in the server's namespace.
        let script = "import socket, time\nsockets = []\nfor port in (22, 5000, 5001, 5002):\n    s = socket.socket()\n    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n    s.bind(('0.0.0.0', port))\n    s.listen(16)\n    sockets.append(s)\nprint('ready', flush=True)\ntime.sleep(600)\n";
        let mut listener = Command::new("ip")
            .args(["netns", "exec", &server, "python3", "-c", script])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("listener");
        let mut ready = String::new();
        if let Some(stdout) = listener.stdout.as_mut() {
            use std::io::Read;
            let mut byte = [0u8; 1];
            while !ready.contains("ready") && stdout.read(&mut byte).is_ok_and(|read| read == 1) {
                ready.push(char::from(byte[0]));
            }
        }
        namespaces.listener = Some(listener);
        Some(namespaces)
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        if let Some(mut listener) = self.listener.take() {
            let _ = listener.kill();
            let _ = listener.wait();
        }
        let _ = run(&["ip", "netns", "del", &self.client]);
        let _ = run(&["ip", "netns", "del", &self.server]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn firewalls_and_routes_say_which_way_a_connection_is_refused() {
    let Some(net) = Namespaces::create() else {
        vigil_testkit::skip_or_fail("root with `ip` and `iptables` (network namespace tests)");
        return;
    };
    let subnet = net.subnet.clone();
    let in_client = |url: String, extra: &[&str]| {
        let mut args = vec!["netns".to_owned(), "exec".to_owned(), net.client.clone(), crate::helpers::vigil_binary().to_owned()];
        args.extend(["diagnose".to_owned(), url, "--health".to_owned(), "none".to_owned()]);
        args.extend(extra.iter().map(|item| (*item).to_owned()));
        args
    };
    let cases: Vec<(String, Vec<&str>, &str, &str)> = vec![
        (format!("http://{subnet}.2:5000/"), vec!["--timeout", "2s"], "tcp.filtered", "port 22"),
        (format!("http://{subnet}.2:5000/"), vec!["--timeout", "2s", "--control-port", "5000"], "tcp.timeout", "do not answer either"),
        (format!("http://{subnet}.2:5001/"), vec!["--timeout", "2s"], "tcp.host_unreachable", "unreachable"),
        (format!("http://{subnet}.2:5002/"), vec!["--timeout", "2s"], "tcp.refused", "nothing listens"),
        (format!("http://{subnet}.9:5000/"), vec!["--timeout", "5s"], "tcp.host_unreachable", "unreachable"),
        ("http://10.99.0.1:80/".to_owned(), vec!["--timeout", "2s"], "tcp.network_unreachable", "no route"),
    ];
    for (url, extra, code, says) in cases {
        let args = in_client(url.clone(), &extra);
        let (exit, layers, output) = run_ip(args).await;
        assert_eq!(exit, Some(1), "{url} {extra:?}: {output}");
        assert_eq!(failed(&layers), vec![("tcp".to_owned(), code.to_owned())], "{url} {extra:?}: {output}");
        assert!(layers["tcp"]["cause"].as_str().is_some_and(|cause| cause.contains(says)), "{url}: {output}");
    }
}

/// `ip ARGS` running `vigil diagnose ... --json`; the same shape as `diagnose::diagnose`.
async fn run_ip(mut args: Vec<String>) -> (Option<i32>, std::collections::BTreeMap<String, serde_json::Value>, String) {
    args.push("--json".to_owned());
    let output = tokio::task::spawn_blocking(move || Command::new("ip").args(&args).env("VIGIL_LOG", "warn").output())
        .await
        .expect("join")
        .expect("run ip");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let layers = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .map(|layer| (layer["layer"].as_str().unwrap_or_default().to_owned(), layer))
        .collect();
    (output.status.code(), layers, format!("{stdout}{stderr}"))
}
