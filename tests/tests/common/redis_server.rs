//! A real `redis-server` on a free loopback port, owned by the test so it can be stopped and
//! started again.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
}

impl RedisServer {
    /// Starts one. The tests that call this are ignored when the build found no
    /// `redis-server` (`tests/build.rs`; never under CI), so a missing one fails the test.
    pub fn start() -> RedisServer {
        assert!(
            Command::new("redis-server")
                .arg("--version")
                .output()
                .is_ok(),
            "redis-server is not installed (apt-get install redis-server; .ci/run installs it)"
        );
        // The port is free when chosen and may be taken before redis-server binds it (another
        // test's server): then it exits, and another port is tried.
        for _ in 0..5 {
            let port = free_port();
            let mut server = RedisServer { child: None, port };
            if server.spawn() {
                return server;
            }
        }
        panic!("redis-server did not start on any of five free ports");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on its port (after [`stop`](Self::stop)).
    pub fn restart(&mut self) {
        self.stop();
        assert!(
            self.spawn(),
            "redis-server did not start again on port {}",
            self.port
        );
    }

    /// Starts redis-server on `self.port`; `false` if it exited (its port taken) before it
    /// answered. Its process id, asked over the port, tells it is ours and not whatever took
    /// the port.
    fn spawn(&mut self) -> bool {
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if child.try_wait().unwrap().is_some() {
                return false;
            }
            if server_pid(self.port) == Some(child.id()) {
                self.child = Some(child);
                return true;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("redis-server did not answer on port {}", self.port);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The process id of the Redis server answering on `port` (`INFO server`), if one answers.
fn server_pid(port: u16) -> Option<u32> {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(b"INFO server\r\n").ok()?;
    let mut reader = BufReader::new(stream);
    let mut header = String::new();
    reader.read_line(&mut header).ok()?;
    let len: usize = header.trim_end().strip_prefix('$')?.parse().ok()?;
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    String::from_utf8(body)
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("process_id:")?.trim().parse().ok())
}
