//! A real nginx on a free loopback port, in front of one upstream, with its own configuration,
//! prefix and temporary files in a directory of the test's: the reverse proxy operators put in
//! front of a server, configured as nginx's documentation suggests.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct Nginx {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

/// The nginx binary: on the `PATH`, or where Debian installs it (`/usr/sbin`, which a user's
/// `PATH` may lack).
pub fn nginx_binary() -> Option<PathBuf> {
    ["nginx", "/usr/sbin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|bin| Command::new(bin).arg("-v").output().is_ok())
}

impl Nginx {
    /// Proxies `http://127.0.0.1:<port>/` to `upstream` (`host:port`), connecting to it from
    /// the address `source` and appending the client's address to `X-Forwarded-For`
    /// (`$proxy_add_x_forwarded_for`); every other request header is passed through as the
    /// client sent it, which is nginx's default. The tests that call this are ignored when
    /// the build found no nginx (`tests/build.rs`; never under CI), so a missing one fails the
    /// test.
    pub fn start(upstream: &str, source: &str) -> Nginx {
        let bin = nginx_binary()
            .expect("nginx is not installed (apt-get install nginx; .ci/run installs it)");
        'attempt: for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let d = dir.path().display();
            let token = dir
                .path()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let config = format!(
                r#"daemon off;
    master_process off;
    worker_processes 1;
    pid {d}/nginx.pid;
    error_log stderr warn;
    events {{ worker_connections 64; }}
    http {{
        access_log off;
        client_body_temp_path {d}/body;
        proxy_temp_path {d}/proxy;
        fastcgi_temp_path {d}/fastcgi;
        uwsgi_temp_path {d}/uwsgi;
        scgi_temp_path {d}/scgi;
        server {{
            listen 127.0.0.1:{port};
            # Its readiness, with a token of this instance: a process that took the port has none.
        location = /.ready {{
            return 200 "{token}";
        }}
        location / {{
                proxy_pass http://{upstream};
                proxy_bind {source};
                proxy_http_version 1.1;
                proxy_set_header Connection "";
                proxy_buffering off;
                proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            }}
        }}
    }}
    "#
            );
            let conf = dir.path().join("nginx.conf");
            std::fs::write(&conf, config).unwrap();
            let mut child = Command::new(&bin)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf)
                .args(["-e", "stderr"])
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start nginx");
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                // Its port taken between choosing and binding it (another test's server): nginx
                // exits ("Address already in use" above), and another port is tried.
                if let Some(status) = child.try_wait().unwrap() {
                    eprintln!("nginx exited ({status}) on port {port}; trying another");
                    continue 'attempt;
                }
                if answers(port, &token) {
                    break;
                }
                assert!(Instant::now() < deadline, "nginx did not start");
                std::thread::sleep(Duration::from_millis(20));
            }
            return Nginx {
                child,
                port,
                _dir: dir,
            };
        }
        panic!("nginx did not start on any of five free ports; its errors are above");
    }
}

/// Whether the nginx started with `token` answers on `port`.
fn answers(port: u16, token: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut answer = String::new();
    stream
        .write_all(b"GET /.ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
        && answer.ends_with(token)
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
