"""Placement's gabbit fixtures, made over Jumpgate's HTTP API.

Placement's own gabbits (placement/tests/functional/gabbits/*.yaml) name fixture classes
of placement/tests/functional/fixtures/gabbits.py, which write the database directly and
set `os.environ` variables the YAML reads as `$ENVIRON[...]`. gabbi looks those names up
in the module it is given; this is that module for tests/placement/run.py (not named
`fixtures`: testtools imports the package of that name). Each class here sets the same
variables and makes the same providers, inventories, traits, aggregates and allocations,
but through the Placement API as an operator would (a jumpgate's database is its own).
Cleanup is the runner's: every file gets a fresh jumpgate, so there is no `stop_fixture`.
One difference in what they make: a provider's generation moves on with its aggregates
here (the API's rule), not in Placement's direct `set_aggregates`.

`bind()` tells the fixtures where Placement is, which admin token to use and which
$ENVIRON values are given (real project ids), before a file's suite runs.
"""

from __future__ import annotations

import os
import uuid

import requests
from gabbi import fixture

_api: "_Placement | None" = None
_environ: dict[str, str] = {}


def bind(url: str, token: str, environ: dict[str, str]) -> None:
    """Placement at `url` (…/placement) with an admin `token`, for the next file; `environ`:
    $ENVIRON values that must be these (the Keystone projects of its callers' tokens)."""
    global _api, _environ
    _api, _environ = _Placement(url, token), dict(environ)


def _uuid() -> str:
    return str(uuid.uuid4())


class _Placement:
    """The few calls the fixtures need, as admin; any unexpected status is an error (the
    suite's first test then fails with it and the rest are skipped, as in Placement)."""

    def __init__(self, url: str, token: str):
        self.url = url
        self.http = requests.Session()
        self.http.headers.update({"X-Auth-Token": token, "Accept": "application/json"})

    def call(self, method: str, path: str, version: str = "1.39", json=None, want=(200,)):
        r = self.http.request(method, self.url + path, json=json, timeout=30,
                              headers={"OpenStack-API-Version": f"placement {version}"})
        if r.status_code not in want:
            raise AssertionError(f"fixture: {method} {path} -> {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None

    def generation(self, rp: str) -> int:
        return self.call("GET", f"/resource_providers/{rp}")["generation"]

    # The helpers of Placement's functional/db/test_base.py, by name.

    def create_provider(self, name: str, *aggs: str, parent: str | None = None,
                        uuid: str | None = None) -> str:
        body = {"name": name, "uuid": uuid or _uuid()}
        if parent:
            body["parent_provider_uuid"] = parent
        rp = self.call("POST", "/resource_providers", json=body)["uuid"]
        if aggs:
            self.call("PUT", f"/resource_providers/{rp}/aggregates",
                      json={"aggregates": list(aggs),
                            "resource_provider_generation": self.generation(rp)})
        return rp

    def ensure_rc(self, name: str) -> None:
        if name.startswith("CUSTOM_"):
            self.call("PUT", f"/resource_classes/{name}", want=(201, 204))

    def add_inventory(self, rp: str, rc: str, total: int, **kwargs) -> None:
        self.ensure_rc(rc)
        kwargs.setdefault("max_unit", total)
        self.call("POST", f"/resource_providers/{rp}/inventories", want=(201,),
                  json={"resource_class": rc, "total": total,
                        "resource_provider_generation": self.generation(rp), **kwargs})

    def set_traits(self, rp: str, *traits: str) -> None:
        for trait in traits:
            if trait.startswith("CUSTOM_"):
                self.call("PUT", f"/traits/{trait}", want=(201, 204))
        self.call("PUT", f"/resource_providers/{rp}/traits",
                  json={"traits": list(traits),
                        "resource_provider_generation": self.generation(rp)})

    def set_allocation(self, rp: str, consumer: str, project: str, user: str,
                       resources: dict[str, int]) -> None:
        # 1.28: a consumer without a consumer type, as Placement's fixture makes them.
        self.call("PUT", f"/allocations/{consumer}", version="1.28", want=(204,),
                  json={"allocations": {rp: {"resources": resources}},
                        "project_id": project, "user_id": user,
                        "consumer_generation": None})


class APIFixture(fixture.GabbiFixture):
    """An empty Placement and the ids the gabbits use ($ENVIRON)."""

    def start_fixture(self):
        self.api = _api
        for name in ("RP_UUID", "RP_NAME", "RP_UUID1", "RP_NAME1", "RP_UUID2", "RP_NAME2",
                     "PROJECT_ID", "ADMIN_PROJECT_ID", "SERVICE_PROJECT_ID", "USER_ID",
                     "PROJECT_ID_ALT", "USER_ID_ALT", "INSTANCE_UUID", "MIGRATION_UUID",
                     "CONSUMER_UUID", "PARENT_PROVIDER_UUID", "ALT_PARENT_PROVIDER_UUID"):
            os.environ[name] = _uuid()
        os.environ["CUSTOM_RES_CLASS"] = "CUSTOM_IRON_NFV"
        os.environ["CUSTOM_RES_CLASS1"] = "CUSTOM_IRON_NFV1"
        os.environ["CUSTOM_RES_CLASS2"] = "CUSTOM_IRON_NFV2"
        os.environ.update(_environ)


class SecureRBACPolicyFixture(APIFixture):
    """Placement's default policy (`[oslo_policy] enforce_new_defaults`), which is
    Jumpgate's: nothing to set."""


class AllocationFixture(APIFixture):
    """One provider (VCPU 10, DISK_GB 2048) and three consumers' allocations on it: two
    of USER_ID, one of ALT_USER_ID, all in PROJECT_ID."""

    def start_fixture(self):
        super().start_fixture()
        os.environ["ALT_USER_ID"] = _uuid()
        project, user, alt_user = (os.environ[k] for k in ("PROJECT_ID", "USER_ID",
                                                           "ALT_USER_ID"))
        rp = self.api.create_provider(os.environ["RP_NAME"], uuid=os.environ["RP_UUID"])
        self.api.add_inventory(rp, "DISK_GB", 2048, step_size=10, min_unit=10,
                               max_unit=1000)
        self.api.add_inventory(rp, "VCPU", 10, max_unit=10)
        for var, owner, resources in (("CONSUMER_0", user, {"DISK_GB": 1000}),
                                      ("CONSUMER_ID", user, {"VCPU": 6}),
                                      ("ALT_CONSUMER_ID", alt_user,
                                       {"DISK_GB": 20, "VCPU": 1})):
            os.environ[var] = _uuid()
            self.api.set_allocation(rp, os.environ[var], project, owner, resources)
        # A provider the fixture does not make.
        os.environ["ALT_RP_UUID"] = _uuid()
        os.environ["ALT_RP_NAME"] = _uuid()


class SharedStorageFixture(APIFixture):
    """Two compute nodes (cn2 with local disk) and two sharing storage providers in one
    aggregate; under each compute node two NUMA nodes, each with a PF of 8 VFs."""

    def start_fixture(self):
        super().start_fixture()
        api = self.api
        agg = os.environ["AGG_UUID"] = _uuid()
        rps = {name: api.create_provider(name, agg) for name in ("cn1", "cn2", "ss", "ss2")}
        for cn in ("1", "2"):
            for numa in ("1", "2"):
                n = f"{cn}_{numa}"
                rps[f"numa{n}"] = api.create_provider(f"numa{n}", parent=rps[f"cn{cn}"])
                rps[f"pf{n}"] = api.create_provider(f"pf{n}", parent=rps[f"numa{n}"])
        for name, rp in rps.items():
            os.environ[f"{name.upper()}_UUID"] = rp
        for cn in ("cn1", "cn2"):
            api.add_inventory(rps[cn], "VCPU", 24, allocation_ratio=16.0)
            api.add_inventory(rps[cn], "MEMORY_MB", 128 * 1024, allocation_ratio=1.5)
        api.set_traits(rps["cn1"], "HW_CPU_X86_SSE", "HW_CPU_X86_SSE2")
        api.add_inventory(rps["cn2"], "DISK_GB", 2000, reserved=100, allocation_ratio=1.0)
        for shared in ("ss", "ss2"):
            api.add_inventory(rps[shared], "DISK_GB", 2000, reserved=100,
                              allocation_ratio=1.0)
            api.set_traits(rps[shared], "MISC_SHARES_VIA_AGGREGATE")
        for pf in ("pf1_1", "pf1_2", "pf2_1", "pf2_2"):
            api.add_inventory(rps[pf], "SRIOV_NET_VF", 8, allocation_ratio=1.0)


class NonSharedStorageFixture(APIFixture):
    """Three compute nodes with VCPU, MEMORY_MB and local DISK_GB, in no aggregate; the
    aggregate ids the gabbits then use."""

    def start_fixture(self):
        super().start_fixture()
        for agg in ("AGGA_UUID", "AGGB_UUID", "AGGC_UUID"):
            os.environ[agg] = _uuid()
        for i in ("1", "2", "3"):
            rp = os.environ[f"CN{i}_UUID"] = self.api.create_provider(f"cn{i}")
            self.api.add_inventory(rp, "VCPU", 24)
            self.api.add_inventory(rp, "MEMORY_MB", 128 * 1024)
            self.api.add_inventory(rp, "DISK_GB", 2000)


class GranularFixture(APIFixture):
    """Three compute nodes and three sharing providers (two disks, a network) across
    aggregates A, B and C, with traits, for granular (numbered group) requests."""

    def start_fixture(self):
        super().start_fixture()
        api = self.api
        api.ensure_rc("CUSTOM_NET_MBPS")
        aggs = {k: _uuid() for k in "ABC"}
        for k, agg in aggs.items():
            os.environ[f"AGG{k}"] = agg

        def provider(var, name, *in_aggs, inventory, traits, max_units=None):
            rp = os.environ[var] = api.create_provider(name, *(aggs[a] for a in in_aggs))
            for rc, total in inventory.items():
                extra = {"max_unit": max_units[rc]} if max_units and rc in max_units else {}
                api.add_inventory(rp, rc, total, **extra)
            api.set_traits(rp, *traits)

        provider("CN_LEFT", "cn_left", "A",
                 inventory={"VCPU": 8, "MEMORY_MB": 4096, "DISK_GB": 500, "VGPU": 8,
                            "SRIOV_NET_VF": 8, "CUSTOM_NET_MBPS": 4000},
                 traits=("HW_CPU_X86_AVX", "HW_CPU_X86_AVX2", "HW_GPU_API_DXVA",
                         "HW_NIC_DCB_PFC", "CUSTOM_FOO"))
        provider("CN_MIDDLE", "cn_middle", "A", "B",
                 inventory={"VCPU": 8, "MEMORY_MB": 4096, "SRIOV_NET_VF": 8,
                            "CUSTOM_NET_MBPS": 4000},
                 traits=("HW_CPU_X86_AVX", "HW_CPU_X86_AVX2", "HW_CPU_X86_SSE",
                         "HW_NIC_ACCEL_TLS"))
        provider("CN_RIGHT", "cn_right", "B", "C",
                 inventory={"VCPU": 8, "MEMORY_MB": 4096, "DISK_GB": 500, "VGPU": 8},
                 max_units={"VGPU": 2},
                 traits=("HW_CPU_X86_MMX", "HW_GPU_API_DXVA", "CUSTOM_DISK_SSD"))
        provider("SHR_DISK_1", "shr_disk_1", "A", inventory={"DISK_GB": 1000},
                 traits=("MISC_SHARES_VIA_AGGREGATE", "CUSTOM_DISK_SSD"))
        provider("SHR_DISK_2", "shr_disk_2", "A", "B", inventory={"DISK_GB": 1000},
                 traits=("MISC_SHARES_VIA_AGGREGATE",))
        provider("SHR_NET", "shr_net", "C",
                 inventory={"SRIOV_NET_VF": 16, "CUSTOM_NET_MBPS": 40000},
                 traits=("MISC_SHARES_VIA_AGGREGATE",))


class NUMANetworkFixture(APIFixture):
    """Two compute hosts as trees: cn1 without inventory of its own, over two NUMA nodes
    (VCPU, MEMORY_MB; FPGAs and a pGPU under them) and two network agents (bandwidth
    devices under them); cn2 with VCPU, MEMORY_MB and DISK_GB, over three NICs of PFs with
    VFs; a sharing DISK_GB provider in their aggregate. Placement's docstring draws it."""

    # The parents of cn1 and cn2: roots here (DeepNUMANetworkFixture gives them some).
    parents: tuple[str | None, str | None] = (None, None)

    def start_fixture(self):
        super().start_fixture()
        api = self.api
        agg = os.environ["AGGA_UUID"] = _uuid()
        project, user = _uuid(), _uuid()

        def provider(var, name, *aggs, parent=None, traits=(), inventory=None):
            rp = os.environ[var] = api.create_provider(name, *aggs, parent=parent)
            for rc, (total, extra) in (inventory or {}).items():
                api.add_inventory(rp, rc, total, **extra)
            if traits:
                api.set_traits(rp, *traits)
            return rp

        provider("SS1_UUID", "ss1", agg, traits=("MISC_SHARES_VIA_AGGREGATE",),
                 inventory={"DISK_GB": (2000, {})})
        cn1 = provider("CN1_UUID", "cn1", agg, parent=self.parents[0],
                       traits=("COMPUTE_VOLUME_MULTI_ATTACH",))
        numa0 = provider("NUMA0_UUID", "numa0", parent=cn1, traits=("HW_NUMA_ROOT",),
                         inventory={"VCPU": (4, {}),
                                    "MEMORY_MB": (2048, {"min_unit": 512, "step_size": 256})})
        numa1 = provider("NUMA1_UUID", "numa1", parent=cn1,
                         traits=("HW_NUMA_ROOT", "CUSTOM_FOO"),
                         inventory={"VCPU": (4, {}),
                                    "MEMORY_MB": (2048, {"min_unit": 256, "max_unit": 1024})})
        api.set_allocation(numa0, _uuid(), project, user, {"VCPU": 2})
        provider("FPGA0_UUID", "fpga0", parent=numa0, inventory={"FPGA": (1, {})})
        provider("PGPU0_UUID", "pgpu0", parent=numa0, inventory={"VGPU": (8, {})})
        for i in (0, 1):
            provider(f"FPGA1_{i}_UUID", f"fpga1_{i}", parent=numa1, inventory={"FPGA": (1, {})})
        sriov = provider("SRIOV_AGENT_UUID", "sriov_agent", parent=cn1,
                         traits=("CUSTOM_VNIC_TYPE_DIRECT",))
        for i in (1, 2):
            provider(f"ESN{i}_UUID", f"esn{i}", parent=sriov, traits=(f"CUSTOM_PHYSNET{i}",),
                     inventory={"NET_BW_EGR_KILOBIT_PER_SEC": (10000 * i, {})})
        ovs = provider("OVS_AGENT_UUID", "ovs_agent", parent=cn1,
                       traits=("CUSTOM_VNIC_TYPE_NORMAL",))
        provider("BR_INT_UUID", "br_int", parent=ovs, traits=("CUSTOM_PHYSNET0",),
                 inventory={"NET_BW_EGR_KILOBIT_PER_SEC": (1000, {})})
        # cn2's VCPU is used before its other inventory exists, as in Placement's order.
        cn2 = provider("CN2_UUID", "cn2", agg, parent=self.parents[1],
                       inventory={"VCPU": (8, {})})
        api.set_allocation(cn2, _uuid(), project, user, {"VCPU": 3})
        api.add_inventory(cn2, "MEMORY_MB", 2048, min_unit=1024, step_size=128)
        api.add_inventory(cn2, "DISK_GB", 1000)
        api.set_traits(cn2, "CUSTOM_FOO")
        nics = [provider(f"NIC{i}_UUID", f"nic{i}", parent=cn2,
                         traits=("CUSTOM_HW_NIC_ROOT",)) for i in (1, 2, 3)]
        pfs = [(f"1_{i}", nics[0], i, 4) for i in (1, 2)]
        pfs += [(f"2_{i + 1}", nics[1], i % 2 + 1, 2) for i in range(4)]
        pfs += [("3_1", nics[2], 1, 8)]
        for suffix, nic, physnet, vfs in pfs:
            provider(f"PF{suffix}_UUID", f"pf{suffix}", parent=nic,
                     traits=(f"CUSTOM_PHYSNET{physnet}",), inventory={"CUSTOM_VF": (vfs, {})})


class DeepNUMANetworkFixture(NUMANetworkFixture):
    """NUMANetworkFixture with cn1 and cn2 two levels down: under p1 and p2, both under
    gp1 (same_subtree over a deeper tree)."""

    def start_fixture(self):
        gp1 = _api.create_provider("gp1")
        self.parents = (_api.create_provider("p1", parent=gp1),
                        _api.create_provider("p2", parent=gp1))
        super().start_fixture()


class NUMAAggregateFixture(APIFixture):
    """Two compute nodes without inventory, each over two NUMA nodes with VCPU; a sharing
    DISK_GB provider in aggregate A with both, another in aggregate C with one NUMA node
    only (cn2 is in B too)."""

    def start_fixture(self):
        super().start_fixture()
        api = self.api
        a, b, c = (_uuid() for _ in "ABC")
        os.environ.update(AGGA_UUID=a, AGGB_UUID=b, AGGC_UUID=c)
        rps = {"cn1": api.create_provider("cn1", a), "cn2": api.create_provider("cn2", a, b),
               "ss1": api.create_provider("ss1", a), "ss2": api.create_provider("ss2", c)}
        rps["numa1_1"] = api.create_provider("numa1_1", c, parent=rps["cn1"])
        rps["numa1_2"] = api.create_provider("numa1_2", parent=rps["cn1"])
        rps["numa2_1"] = api.create_provider("numa2_1", parent=rps["cn2"])
        rps["numa2_2"] = api.create_provider("numa2_2", parent=rps["cn2"])
        for name, rp in rps.items():
            os.environ[f"{name.upper()}_UUID"] = rp
        for numa in ("numa1_1", "numa1_2", "numa2_1", "numa2_2"):
            api.add_inventory(rps[numa], "VCPU", 24, allocation_ratio=16.0)
        for ss in ("ss1", "ss2"):
            api.add_inventory(rps[ss], "DISK_GB", 2000, reserved=100, allocation_ratio=1.0)
            api.set_traits(rps[ss], "MISC_SHARES_VIA_AGGREGATE")


class NeutronQoSMultiSegmentFixture(APIFixture):
    """Four compute trees as Neutron's QoS (minimum bandwidth and packet rate) reports
    them: each compute with an OVS agent (packet rate) over bridges (bandwidth) and an
    SR-IOV agent over PFs (bandwidth), each bridge and PF on a physnet; compute0 on
    another network, compute1 and compute2 on segment 1 and 2, compute3 on both with
    little bandwidth."""

    DIRECT = ("CUSTOM_VNIC_TYPE_DIRECT", "CUSTOM_VNIC_TYPE_DIRECT_PHYSICAL",
              "CUSTOM_VNIC_TYPE_MACVTAP")

    def start_fixture(self):
        super().start_fixture()
        api = self.api
        # compute: (its bridges' and PFs' physnets, their bandwidth)
        computes = {
            "compute0": (("OTHER",), ("OTHER",), 5000, 10000),
            "compute1": (("MSN_S1",), ("MSN_S1",), 5000, 10000),
            "compute2": (("MSN_S2",), ("MSN_S2",), 5000, 10000),
            "compute3": (("MSN_S1", "MSN_S2"), ("MSN_S1", "MSN_S2"), 1000, 1000),
        }
        for cn, (bridge_nets, pf_nets, bridge_bw, pf_bw) in computes.items():
            rp = os.environ[cn] = api.create_provider(cn)
            for rc, total in (("VCPU", 8), ("MEMORY_MB", 4096), ("DISK_GB", 500)):
                api.add_inventory(rp, rc, total)
            ovs = os.environ[f"{cn}:ovs_agent"] = api.create_provider(
                f"{cn}:Open vSwitch agent", parent=rp)
            api.add_inventory(ovs, "NET_PACKET_RATE_KILOPACKET_PER_SEC", 1000)
            api.set_traits(ovs, "CUSTOM_VNIC_TYPE_NORMAL")
            for i, net in enumerate(bridge_nets):
                suffix = str(i + 1) if i else ""
                br = os.environ[f"{cn}:br_ex{suffix}"] = api.create_provider(
                    f"{cn}:Open vSwitch agent:br-ex{suffix}", parent=ovs)
                api.add_inventory(br, "NET_BW_EGR_KILOBIT_PER_SEC", bridge_bw)
                api.add_inventory(br, "NET_BW_IGR_KILOBIT_PER_SEC", bridge_bw)
                api.set_traits(br, "CUSTOM_VNIC_TYPE_NORMAL", f"CUSTOM_PHYSNET_{net}")
            sriov = api.create_provider(f"{cn}:NIC Switch agent", parent=rp)
            # Placement's fixture sets compute3's variable to compute2's agent: kept.
            os.environ[f"{cn}:sriov_agent"] = (
                os.environ["compute2:sriov_agent"] if cn == "compute3" else sriov)
            api.set_traits(sriov, *self.DIRECT)
            for i, net in enumerate(pf_nets):
                pf = os.environ[f"{cn}:pf{i}"] = api.create_provider(
                    f"{cn}:NIC Switch agent:enp129s0f{i}", parent=sriov)
                api.add_inventory(pf, "NET_BW_EGR_KILOBIT_PER_SEC", pf_bw)
                api.add_inventory(pf, "NET_BW_IGR_KILOBIT_PER_SEC", pf_bw)
                api.set_traits(pf, *self.DIRECT, f"CUSTOM_PHYSNET_{net}")
