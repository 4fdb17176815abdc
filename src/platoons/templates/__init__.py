"""Service templates: starting scenario files for `platoons new --template NAME`."""
