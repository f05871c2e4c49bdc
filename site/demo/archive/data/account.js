window.YTD.account.part0 = [
  {
    "account" : {
      "email" : "owner@example.invalid",
      "createdVia" : "web",
      "username" : "demo_traveller",
      "accountId" : "1000000000000000001",
      "createdAt" : "2011-06-23T13:04:14.000Z",
      "accountDisplayName" : "Demo Traveller"
    }
  }
]