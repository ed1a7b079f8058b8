namespace Isola.Host.Workers.Memory;

/// <summary>How a worker process's real memory (not only its V8 heap) is held to its limit.</summary>
internal enum WorkerMemoryMode
{
    /// <summary>cgroup v1 where the host may create memory cgroups (root on these machines), else the RSS watchdog.</summary>
    Auto,

    /// <summary>A memory cgroup per worker: the kernel refuses and OOM-kills at the limit. Fails the start when not writable.</summary>
    Cgroup,

    /// <summary>Samples the worker's resident memory and kills it past the limit (no privileges needed; bounded to one sampling interval of overshoot).</summary>
    Watchdog,
}
