//! What the classroom tests (`serve_ssh.rs`, `serve_hostile.rs`) share: a server on
//! loopback with a class code, and a russh client that accepts its host key.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cnn_tutor::serve::{self, ServeConfig, Server};
use russh::client;

/// Longest wait for anything (only reached when something is broken).
pub const GUARD: Duration = Duration::from_secs(60);
/// The class code the test servers take.
pub const CODE: &str = "owl-42";

/// A client that trusts any host key (the tests' server makes a fresh one).
pub struct Client;

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// A server on any free loopback port, with the class code and a short refusal delay.
pub fn config(state: &std::path::Path) -> ServeConfig {
    let mut c = ServeConfig::new("127.0.0.1:0".parse().unwrap(), state.to_path_buf());
    c.code = Some(CODE.into());
    c.auth_delay = Duration::from_millis(100);
    c.data_dir = state.join("no-data-needed");
    c
}

pub fn start(c: ServeConfig) -> Server {
    serve::start(c).expect("server starts")
}

/// Connect (key exchange done, not logged in) with the given client settings.
pub async fn connect_with(addr: SocketAddr, config: client::Config) -> client::Handle<Client> {
    tokio::time::timeout(GUARD, client::connect(Arc::new(config), addr, Client))
        .await
        .expect("connect in time")
        .expect("connects")
}

/// Connect with russh's default client settings.
pub async fn connect(addr: SocketAddr) -> client::Handle<Client> {
    connect_with(addr, client::Config::default()).await
}
