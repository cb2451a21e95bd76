//! The kinds of Neutron resources this cloud has.

pub mod floatingips;
pub mod ipam;
pub mod misc;
pub mod networks;
pub mod ports;
pub mod quotas;
pub mod rbac;
pub mod routers;
pub mod security_groups;
pub mod subnetpools;
pub mod subnets;

use jumpgate_plugin_api::prelude::*;

use super::api::serve;
use super::Svc;

pub fn setup(disp: &Dispatcher, svc: &Svc) -> Result<(), Error> {
    serve::<networks::Network>(disp, svc, "v2_networks", "v2_network")?;
    subnets::setup(disp, svc)?;
    subnetpools::setup(disp, svc)?;
    ports::setup(disp, svc)?;
    quotas::setup(disp, svc)?;
    security_groups::setup(disp, svc)?;
    routers::setup(disp, svc)?;
    floatingips::setup(disp, svc)?;
    rbac::setup(disp, svc)?;
    misc::setup(disp, svc)?;
    Ok(())
}
