module cloudnative.example/bench/goserver

go 1.22
