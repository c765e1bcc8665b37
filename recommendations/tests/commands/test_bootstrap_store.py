import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from recommendations.models import ModelVersion
from shop.models import Interaction, Product

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def isolated_files(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"


def test_bootstrap_loads_the_demo_store_trains_a_model_and_prints_an_admin_login(tmp_path, capsys):
    call_command("bootstrap_store", products=120, customers=60, interactions=3000)
    out = capsys.readouterr().out

    assert Product.objects.count() == 120
    assert Interaction.objects.count() == 3000
    assert ModelVersion.objects.get().status == "active"
    password = (tmp_path / ".admin_password").read_text().strip()
    assert f"Admin login: admin / {password}" in out
    assert authenticate(username="admin", password=password) is not None


def test_bootstrap_twice_keeps_the_store_the_model_and_the_password(tmp_path, capsys):
    call_command("bootstrap_store", products=120, customers=60, interactions=3000)
    password = (tmp_path / ".admin_password").read_text().strip()
    call_command("bootstrap_store", products=120, customers=60, interactions=3000)
    out = capsys.readouterr().out

    assert "Catalog has 120 products; demo data not loaded." in out
    assert Interaction.objects.count() == 3000
    assert ModelVersion.objects.count() == 1
    assert f"Admin login: admin / {password}" in out


def test_on_a_read_only_install_bootstrap_still_prints_a_working_admin_login(settings, tmp_path, capsys):
    settings.BASE_DIR = tmp_path / "not-writable"  # no such directory: writing the password file fails
    call_command("bootstrap_store", products=120, customers=60, interactions=3000)
    captured = capsys.readouterr()

    password = captured.out.split("Admin login: admin / ")[1].split()[0]
    assert authenticate(username="admin", password=password) is not None
    assert f"Could not keep the admin password in {tmp_path}/not-writable/.admin_password" in captured.err
