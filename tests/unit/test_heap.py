import gc

from smsgrid.heap import freeze_start_up_objects


def test_objects_alive_at_start_up_leave_the_collectors_generations() -> None:
    long_lived = [object() for _ in range(10)]
    gc.unfreeze()
    try:
        freeze_start_up_objects()
        assert gc.get_freeze_count() > len(long_lived)
    finally:
        gc.unfreeze()
