module cloudnative.example/bench/openloop

go 1.22
