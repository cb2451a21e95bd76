//! A plain C-ABI shared library with no abi_stable root module: the host must refuse it.

#[no_mangle]
pub extern "C" fn not_a_driver() -> i32 {
    42
}
