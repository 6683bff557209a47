from cloudgeo.wpsnode.jobs.outputs import output_file_ids


def test_output_file_ids_finds_every_stored_file_link():
    output = {
        "OUTPUT": "http://127.0.0.1:9000/api/file/retrieve/abc123.gpkg",
        "REPORTS": ["http://gw/api/file/retrieve/d-e_f.html", 3],
        "COUNT": 10, "NAME": "plain text", "OTHER": "http://elsewhere/x.tif",
    }
    assert output_file_ids(output) == ["abc123", "d-e_f"]
