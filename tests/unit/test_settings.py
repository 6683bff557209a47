import pytest

from cloudgeo.common.envsettings import SettingsError
from cloudgeo.fileservice.settings import FileServiceSettings
from cloudgeo.storage.settings import S3Settings


def test_defaults_are_the_seeds_ports_and_one_gib():
    s = FileServiceSettings.from_env({})
    assert s.server.bind == "127.0.0.1:8800"
    assert s.max_size == 1024**3
    assert s.retrieve_url("a.tif") == "http://127.0.0.1:9000/api/file/retrieve/a.tif"


def test_environment_overrides():
    s = FileServiceSettings.from_env({
        "CLOUDGEO_FILE_PORT": "9999", "CLOUDGEO_FILE_MAX_SIZE": "10",
        "CLOUDGEO_S3_BUCKET": "other", "CLOUDGEO_S3_SECURE": "true",
        "CLOUDGEO_PUBLIC_URL": "https://geo.example.org/",
    })
    assert s.server.port == 9999 and s.max_size == 10
    assert s.s3.bucket == "other" and s.s3.secure is True
    assert s.public_url == "https://geo.example.org"


@pytest.mark.parametrize(("key", "value", "message"), [
    ("CLOUDGEO_FILE_PORT", "http", "CLOUDGEO_FILE_PORT='http' is not a whole number"),
    ("CLOUDGEO_FILE_MAX_SIZE", "0", "below the minimum"),
    ("CLOUDGEO_S3_SECURE", "maybe", "not a boolean"),
])
def test_bad_values_name_the_variable(key, value, message):
    with pytest.raises(SettingsError, match=message):
        FileServiceSettings.from_env({key: value})


def test_s3_settings_round_trip_through_the_environment():
    s = S3Settings(endpoint="h:1", access_key="a", secret_key="b", bucket="c", secure=True)
    assert S3Settings.from_env(s.as_env()) == s
