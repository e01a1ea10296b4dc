use mcp_secure::secret::SecretString;

fn main() {
    let key = SecretString::new("hunter2".to_owned());
    println!("the key is {key}");
}
