"""A stand-in for the two helpers of the `aiomisc` package that aio-pika's test suite imports
(`awaitable` in its conftest, `timeout` on some tests), written for Warren so that suite runs where
aiomisc cannot be installed. See ../README.md. Nothing else of aiomisc is here: a suite that needs
more fails at import, not silently."""
import asyncio
import functools
import inspect
from typing import Any, Awaitable, Callable, TypeVar

__all__ = ("awaitable", "timeout")

Result = TypeVar("Result")


def awaitable(func: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Wraps `func` so that calling it always gives something to await: its own awaitable when it
    returns one, otherwise its plain return value (the call itself happens at once)."""

    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = func(*args, **kwargs)
        if inspect.isawaitable(result):
            return await result
        return result

    return wrapper


def timeout(seconds: float) -> Callable[[Callable[..., Awaitable[Result]]], Callable[..., Awaitable[Result]]]:
    """Decorates an `async def` so each call fails with asyncio.TimeoutError after `seconds`. The
    wrapper keeps the function's signature (functools.wraps), so pytest still sees its fixtures."""

    def decorate(func: Callable[..., Awaitable[Result]]) -> Callable[..., Awaitable[Result]]:
        if not inspect.iscoroutinefunction(func):
            raise TypeError(f"aiomisc.timeout decorates async functions, not {func!r}")

        @functools.wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Result:
            return await asyncio.wait_for(func(*args, **kwargs), seconds)

        return wrapper

    return decorate
