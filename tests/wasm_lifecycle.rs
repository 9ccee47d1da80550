//! The release module's lifecycle under the wasm harness.

mod harness;

use harness::Vm;

#[test]
fn smoke() {
    let mut vm = Vm::new();
    let p = vm.start_plugin(r#"{"leaked_keys":["LTAI5tLeakedKey000000001"]}"#);
    println!("{p:?} {:?}", vm.log_lines());
    assert!(p.configured);
}
