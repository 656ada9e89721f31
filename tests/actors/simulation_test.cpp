#include "tests/actor_fixture.hpp"
