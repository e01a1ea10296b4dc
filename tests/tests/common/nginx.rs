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
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.path().display();
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
        let mut child = Command::new(bin)
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
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("nginx exited ({status}); its errors are above");
            }
            assert!(Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
