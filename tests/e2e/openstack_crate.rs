//! The Rust `openstack` crate (with osauth) as a Rust program uses it: it discovers each
//! service from the catalog and its version documents, then creates and waits for a
//! network, a server and a volume, and reads the faults it is given as its error kinds.

use jumpgate_e2e::{Jumpgate, ADMIN, ADMIN_PASSWORD};
use openstack::block_storage::VolumeStatus;
use openstack::waiter::Waiter;
use openstack::ErrorKind;
use osauth::common::IdOrName;

const SERVICES: &[&str] = &["identity", "image", "compute", "network", "volume"];

#[test]
fn the_openstack_crate_discovers_every_service_and_builds_a_server_with_a_volume() {
    let data = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(data.path(), SERVICES, "");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let auth = osauth::identity::Password::new(jg.url("/v3"), ADMIN, ADMIN_PASSWORD, "Default")
            .unwrap()
            .with_project_scope(IdOrName::from_name("admin"), IdOrName::from_id("default"));
        let os = openstack::Cloud::new(auth).await.expect("sign in");
        // A raw image over plain HTTP: the crate reads images, it does not upload them.
        let image = jg.upload_image(&jg.admin_token(), "cirros", None);

        // Reads: each service found through the catalog and its version document.
        let flavors = os.list_flavors().await.expect("flavors");
        assert!(flavors.iter().any(|f| f.name() == "m1.nano"), "{flavors:?}");
        let shown = os.get_image(&image).await.expect("image by id");
        assert_eq!(shown.name(), "cirros");
        assert_eq!(
            os.get_image("cirros").await.expect("image by name").id(),
            &image
        );

        // A network with a subnet, a key pair, and a server on them.
        let net = os
            .new_network()
            .with_name("rust-net")
            .create()
            .await
            .expect("network");
        let subnet = os
            .new_subnet(net.id().clone(), "10.42.0.0/24".parse().unwrap())
            .with_name("rust-subnet")
            .create()
            .await
            .expect("subnet");
        assert_eq!(subnet.network_id(), net.id());
        let (key, private_key) = os
            .new_keypair("rust-key")
            .generate()
            .await
            .expect("generated key pair");
        assert!(private_key.contains("PRIVATE KEY"), "{private_key}");
        let server = os
            .new_server("rust-vm", "m1.nano")
            .with_image(image.as_str())
            .with_network(net.id().as_str())
            .with_keypair(key.name().as_str())
            .create()
            .await
            .expect("server created")
            .wait()
            .await
            .expect("server active");
        assert_eq!(server.status(), openstack::compute::ServerStatus::Active);
        assert!(os
            .list_servers()
            .await
            .unwrap()
            .iter()
            .any(|s| s.id() == server.id()));

        // Block storage: osauth asks /volume/v3/{project} first and needs Cinder's 404.
        let volume = os
            .new_volume(1_u32)
            .with_name("rust-vol".to_string())
            .create()
            .await
            .expect("volume created");
        // (The crate has no waiter for a new volume: poll as its users do.)
        let mut volume = os.get_volume(volume.id()).await.expect("volume shown");
        for _ in 0..100 {
            if volume.status() != VolumeStatus::Creating {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            volume = os.get_volume(volume.id()).await.expect("volume shown");
        }
        assert_eq!(volume.status(), VolumeStatus::Available);
        assert_eq!(volume.name(), "rust-vol");
        assert_eq!(volume.size(), 1);

        // Faults arrive as the crate's error kinds.
        let missing = os.get_server("no-such-server").await.unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::ResourceNotFound, "{missing}");
        let missing = os.get_volume("no-such-volume").await.unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::ResourceNotFound, "{missing}");
        let bad = os
            .new_volume(0_u32)
            .create()
            .await
            .expect_err("a volume of 0 GiB");
        assert_eq!(bad.kind(), ErrorKind::InvalidInput, "{bad}");

        // And everything goes away again.
        server
            .delete()
            .await
            .unwrap()
            .wait()
            .await
            .expect("server gone");
        volume
            .delete()
            .await
            .unwrap()
            .wait()
            .await
            .expect("volume gone");
        subnet
            .delete()
            .await
            .unwrap()
            .wait()
            .await
            .expect("subnet gone");
        net.delete()
            .await
            .unwrap()
            .wait()
            .await
            .expect("network gone");
        let err = os.get_network("rust-net").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ResourceNotFound, "{err}");
    });
}
