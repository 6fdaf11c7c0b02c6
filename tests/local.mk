# Tests of the server core: Check unit tests (the same library code the
# binary links) and integration tests through a real nginx.
UNIT_TESTS =
print-unit-tests:
	@echo $(UNIT_TESTS)
.PHONY: print-unit-tests

# ---- begin itest block (validation cases, unit tests of validate/config/store,
# integration tests through nginx; owned by the itest branch) ----
EXTRA_DIST += tests/integration/lib.sh
# ---- end itest block ----
