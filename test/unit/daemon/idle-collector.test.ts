import { IdleCollector } from '../../../daemon/heap';

describe('IdleCollector: the collection once the API is quiet (daemon/heap.ts)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const make = (idleMs = 2000) => {
    const collect = jest.fn();
    return { collect, idle: new IdleCollector(idleMs, collect) };
  };

  test('collects once, idleMs after the last answer', () => {
    const { collect, idle } = make();
    idle.begin();
    idle.end();
    jest.advanceTimersByTime(1999);
    expect(collect).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(collect).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(60_000);
    expect(collect).toHaveBeenCalledTimes(1);
    expect(idle.collections).toBe(1);
  });

  test('never while a request is being answered, and a new request puts it off', () => {
    const { collect, idle } = make();
    idle.begin();
    idle.begin();
    idle.end(); // one still in flight
    jest.advanceTimersByTime(10_000);
    expect(collect).not.toHaveBeenCalled();
    idle.end();
    jest.advanceTimersByTime(1500);
    idle.begin(); // the burst goes on
    jest.advanceTimersByTime(10_000);
    expect(collect).not.toHaveBeenCalled();
    idle.end();
    jest.advanceTimersByTime(2000);
    expect(collect).toHaveBeenCalledTimes(1);
  });

  test('a burst of requests gives one collection; cancel() (the daemon stopping) gives none', () => {
    const { collect, idle } = make();
    for (let i = 0; i < 50; i++) {
      idle.begin();
      idle.end();
      jest.advanceTimersByTime(100);
    }
    jest.advanceTimersByTime(2000);
    expect(collect).toHaveBeenCalledTimes(1);
    idle.begin();
    idle.end();
    idle.cancel();
    jest.advanceTimersByTime(10_000);
    expect(collect).toHaveBeenCalledTimes(1);
  });

  test('idleMs 0 turns it off; a failing collection is not thrown at the timer', () => {
    const off = make(0);
    off.idle.begin();
    off.idle.end();
    jest.advanceTimersByTime(10_000);
    expect(off.collect).not.toHaveBeenCalled();
    const failing = new IdleCollector(10, () => {
      throw new Error('no gc');
    });
    failing.begin();
    failing.end();
    expect(() => jest.advanceTimersByTime(10)).not.toThrow();
    expect(failing.collections).toBe(0);
  });
});
