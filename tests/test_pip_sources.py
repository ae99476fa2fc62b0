"""scripts/pip_sources.py: pip's configured package sources as uv flags (make setup installs with uv)."""
import shlex
import subprocess
import sys

from scripts_module import load_script

from course_utils.settings import ROOT


def test_each_source_option_becomes_its_uv_flag_once_per_value():
    pairs = [("cert", "/etc/ssl/cert.pem"), ("find-links", "/opt/wheels"),
             ("extra-index-url", "file:///a/simple file:///b/simple"), ("find-links", "/opt/wheels"),
             ("constraint", "/etc/pip/constraints.txt"), ("index-url", "https://mirror/simple")]
    assert load_script("pip_sources").uv_flags(pairs) == [
        "--find-links", "/opt/wheels", "--extra-index-url", "file:///a/simple", "--extra-index-url",
        "file:///b/simple", "--constraint", "/etc/pip/constraints.txt", "--index-url", "https://mirror/simple"]


def test_reads_pip_config_list_and_prints_shell_words(tmp_path):
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nextra-index-url = file:///x/simple file:///y/simple\ntimeout = 60\n")
    env = {"PIP_CONFIG_FILE": str(config), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "pip_sources.py")], capture_output=True, text=True,
                         env=env, check=True).stdout
    words = shlex.split(out)
    assert words[-4:] == ["--extra-index-url", "file:///x/simple", "--extra-index-url", "file:///y/simple"]
    assert "60" not in words
