"""The workspace's packages on the cluster's workers, and a cluster behind TLS (issue 12).

Packages: the workspace's ``requirements.txt`` (real wheels built here, an absolute
``--find-links``, no network) is installed on the Dask workers before its first execution
there, and a worker that cannot install it says so on the execution. TLS: a cluster whose
scheduler and workers speak ``tls://`` (Dask's ``Security.temporary()`` certificates) runs
flows for an engine given the same certificates."""

from __future__ import annotations

import pytest

from cluster_support import rows
from packages.wheels import build_wheel

pytestmark = pytest.mark.timeout(180)

USES_PACKAGE = """
    import acme_cluster

    def handler(system, this):
        this.set_output(shout=acme_cluster.shout('hi'), module=acme_cluster.__file__)
        return this.success('imported')
"""


def _requirements(workspace, wheels, *lines: str) -> None:
    text = "\n".join(["--no-index", f"--find-links {wheels}", *lines]) + "\n"
    (workspace.root / "requirements.txt").write_text(text, encoding="utf-8")


def test_the_workspace_packages_are_installed_on_the_workers(make_workspace, local_cluster, cluster_engine,
                                                             pg_url, tmp_path):
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "acme-cluster", "1.0", {"acme_cluster.py": "def shout(text):\n    return text.upper() + '!'\n"})
    # The workers keep their package sets under their cache folder: this test's, not the user's.
    cache = tmp_path / "worker-cache"
    cluster = local_cluster(workers=1, threads=1, env={"XDG_CACHE_HOME": str(cache)})

    workspace = make_workspace({"Uses Package": USES_PACKAGE})
    _requirements(workspace, wheels.resolve(), "acme-cluster==1.0")
    engine = cluster_engine(workspace, cluster, pg_url)
    record = engine.run("Uses Package", timeout=120)
    assert (record["status"], record["message"]) == ("success", "imported"), record["message"]
    assert record["outputs"]["shout"] == "HI!"
    # Installed for the worker (its cache), not taken from a set installed in the workspace here.
    assert record["outputs"]["module"].startswith(str(cache)), record["outputs"]["module"]
    assert not (workspace.root / ".flowdesk" / "packages").exists()

    broken = make_workspace({"Uses Package": USES_PACKAGE}, name="broken")
    _requirements(broken, wheels.resolve(), "acme-missing-dist==9.9")
    other = cluster_engine(broken, cluster, pg_url)
    failed = other.run("Uses Package", timeout=120)
    assert failed["status"] == "error"
    [row] = rows(other, failed["id"])
    assert "could not install the workspace's packages" in failed["message"], failed["message"]
    assert "acme-missing-dist" in failed["message"], failed["message"]
    worker = next(iter(cluster.scheduler_info["workers"]))
    assert worker in failed["message"], failed["message"]


def test_a_flow_runs_on_a_tls_cluster(make_workspace, local_cluster, cluster_engine, pg_url, tmp_path):
    from distributed.security import Security

    security = Security.temporary()  # one self-signed certificate: the CA and everyone's
    certs = {}
    for name, pem in (("ca", security.tls_ca_file), ("cert", security.tls_client_cert),
                      ("key", security.tls_client_key)):
        certs[name] = tmp_path / f"{name}.pem"
        certs[name].write_text(pem)
    cluster = local_cluster(workers=1, threads=1, security=security)
    assert cluster.scheduler_address.startswith("tls://")

    workspace = make_workspace({
        "Parent": """
            def handler(system, this):
                child = this.flow('Child', value=21)
                this.set_output(value=child.get('output_value')['value'])
        """,
        "Child": """
            def handler(system, this, inputs):
                this.set_output(value=inputs['value'] * 2)
        """,
    })
    engine = cluster_engine(workspace, cluster, pg_url, cluster_options={
        "tls_ca": str(certs["ca"]), "tls_cert": str(certs["cert"]), "tls_key": str(certs["key"])})
    record = engine.run("Parent", timeout=60)
    assert (record["status"], record["outputs"]) == ("success", {"value": 42}), record["message"]
    assert all(r["worker_address"].startswith("tls://") for r in rows(engine, record["id"]))
