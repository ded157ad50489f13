# One entry point for the usual chores; each target calls the script that does the work.
.PHONY: setup infra demo test protos protos-check deploy-check lint

setup:
	bash scripts/setup.sh

infra: setup
	bash scripts/infra.sh

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

protos:
	bash scripts/gen_protos.sh

protos-check:
	bash scripts/gen_protos.sh --check

deploy-check:
	bash scripts/validate_deploy.sh

lint:
	.venv/bin/ruff check services tests bench scripts
