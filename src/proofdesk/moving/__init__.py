"""Moving in and out: importing another help desk's history, exporting an organization's."""
